#include "reconcile/generation.hpp"

#include <nlohmann/json.hpp>

#include "common/digest.hpp"

namespace seed::reconcile {

std::string generation_of(const std::string& toplevel, const nlohmann::json& meta) {
  nlohmann::json runtime = meta;
  if (runtime.is_object()) {
    runtime.erase("rollout");
    runtime.erase("health");
  }
  // nlohmann::json keeps object keys in a std::map, so dump() is already key-sorted.
  Sha256 d = sha256(toplevel + "\n" + runtime.dump());
  return base32_lower(d.data(), d.size()).substr(0, 16);
}

}  // namespace seed::reconcile
