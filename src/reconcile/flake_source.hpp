// A planted source: the flake URI a tenant gave to `plant`, in one canonical spelling, the
// flake reference nix is handed, and the namespace every instance of the source lives in.
//
// The namespace is derived from the canonical URI only (docs/namespaces.md):
//   namespace = "s-" + first 12 characters of base32_lower(sha256(canonical))
// 12 base32 characters carry 60 bits; the result is a DNS label. Two spellings of one source
// ("github:Alice/App" and "github:alice/app") canonicalize alike, so they share a namespace;
// a Silo repository's namespace does not depend on where the node keeps its repositories.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::reconcile {

enum class SourceKind { silo, github, git };

struct FlakeSource {
  SourceKind kind = SourceKind::git;
  std::string canonical;  // "silo:my-app", "github:alice/app", "git+https://host/path?ref=x"
  std::string nix_ref;    // what `nix eval` / `nix build` are given
  std::string ns;         // "s-" + 12 base32 characters
};

// `silo_root` is the directory holding Silo's bare repositories (<root>/<name>.git).
// Errors are Errc::invalid_argument with the offending URI and what forms are accepted.
Result<FlakeSource> parse_flake_source(std::string_view uri, const std::string& silo_root);

std::string namespace_of(std::string_view canonical);

}  // namespace seed::reconcile
