#include "reconcile/shoot_size.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seed::reconcile {
namespace {

using ::testing::HasSubstr;

const std::vector<vmm::shoot::ShootPoolTier> kTiers{{{"small", 1, 256}, 1}, {{"large", 4, 4096}, 0}};

TEST(ShootSize, TheDefaultIsTheFirstTierAndANamedTierIsUsedWhenItFits) {
  EXPECT_EQ(*pick_shoot_tier(kTiers, "", 1, 512), "small");
  EXPECT_EQ(*pick_shoot_tier(kTiers, "large", 4, 4096), "large");
}

TEST(ShootSize, ATierLargerThanTheParentIsOneClear400WorthyError) {
  auto more_memory = pick_shoot_tier(kTiers, "large", 4, 2048);
  ASSERT_FALSE(more_memory);
  EXPECT_EQ(more_memory.error().code, Errc::invalid_argument);
  EXPECT_THAT(more_memory.error().message, HasSubstr("larger than this instance (4 vCPUs, 2048 MiB)"));
  EXPECT_THAT(std::string(*more_memory.error().get("hint")), HasSubstr("smaller size"));
  auto more_cpus = pick_shoot_tier(kTiers, "large", 2, 8192);
  ASSERT_FALSE(more_cpus);
  EXPECT_EQ(more_cpus.error().code, Errc::invalid_argument);
  // The default tier is held to the same rule.
  EXPECT_FALSE(pick_shoot_tier(kTiers, "", 1, 128));
}

TEST(ShootSize, AnUnknownSizeNamesTheTiersThatExist) {
  auto r = pick_shoot_tier(kTiers, "huge", 8, 65536);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_THAT(std::string(*r.error().get("hint")), HasSubstr("small, large"));
}

}  // namespace
}  // namespace seed::reconcile
