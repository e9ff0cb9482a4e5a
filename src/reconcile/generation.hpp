// The generation of an instance: what must be equal for a running VM to be "the same".
//
//   generation = first 16 base32 characters of sha256( toplevel + "\n" + canonical(meta') )
//
// meta' is the instance's meta without the fields that only steer how a deploy happens, not
// what runs (`rollout`, `health`): changing the rollout strategy must not restart anything.
// canonical() is compact JSON with object keys sorted, so key order in nix's output does
// not matter. Same generation as the running one: the reconciler leaves the VM alone.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace seed::reconcile {

std::string generation_of(const std::string& toplevel, const nlohmann::json& meta);

}  // namespace seed::reconcile
