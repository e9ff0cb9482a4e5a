// Turns what the node owner types for an instance ("web", "web.k3x9…", "github:me/app/web")
// into the engine's InstanceId. Done in the server, in this one place, against status(), so
// every command and every seedctl version resolve the same way.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "reconcile/service.hpp"

namespace seed::reconcile {

struct InstanceSpec {
  std::string name{};
  std::string ns{};      // "" = any
  std::string source{};  // "" = any (a spelling of the source URI the service understands)
};

// "name", "name.namespace" or "source/name" (split at the last '/', since URIs hold slashes).
Result<InstanceSpec> parse_instance_spec(std::string_view text);

// Picks the one instance of `sources` the spec names. not_found lists what exists; an
// ambiguous name is Errc::invalid_argument (the caller must name it more fully, as over SSH)
// listing every candidate as "name.namespace (source)".
Result<InstanceId> match_instance(const InstanceSpec& spec,
                                             const std::vector<SourceView>& sources);

// parse + status() + match.
Result<InstanceId> resolve_instance(std::string_view text, Service& service);

}  // namespace seed::reconcile
