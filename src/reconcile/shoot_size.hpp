// Which size tier a shoot runs in (docs/shoots.md): the one it asks for ("" = the node's first),
// never larger than its parent instance, so a shoot cannot buy more CPU or memory than the
// instance that starts it has.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "vmm/shoot/shoot_pool.hpp"

namespace seed::reconcile {

// The tier's name, or Errc::invalid_argument naming the tiers that exist or the parent's size.
Result<std::string> pick_shoot_tier(const std::vector<vmm::shoot::ShootPoolTier>& tiers, const std::string& size,
                                    unsigned parent_vcpus, uint64_t parent_memory_mib);

}  // namespace seed::reconcile
