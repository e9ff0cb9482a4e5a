#include "reconcile/shoot_size.hpp"

namespace seed::reconcile {

Result<std::string> pick_shoot_tier(const std::vector<vmm::shoot::ShootPoolTier>& tiers, const std::string& size,
                                    unsigned parent_vcpus, uint64_t parent_memory_mib) {
  const vmm::shoot::ShootTier* tier = nullptr;
  std::string names;
  for (const auto& t : tiers) {
    if (tier == nullptr && (size.empty() || t.tier.name == size)) tier = &t.tier;
    names += (names.empty() ? "" : ", ") + t.tier.name;
  }
  if (tier == nullptr) {
    return make_error(Errc::invalid_argument, "size '" + size + "' is not a shoot tier of this node")
        .with("stage", "shoot")
        .with("hint", "use one of: " + names + " (or leave size out)");
  }
  if (tier->vcpus > parent_vcpus || tier->memory_mib > parent_memory_mib) {
    return make_error(Errc::invalid_argument,
                      "size '" + tier->name + "' (" + std::to_string(tier->vcpus) + " vCPUs, " +
                          std::to_string(tier->memory_mib) + " MiB) is larger than this instance (" +
                          std::to_string(parent_vcpus) + " vCPUs, " + std::to_string(parent_memory_mib) + " MiB)")
        .with("stage", "shoot")
        .with("hint", "a shoot is at most its instance's size: ask for a smaller size, or give the instance more");
  }
  return tier->name;
}

}  // namespace seed::reconcile
