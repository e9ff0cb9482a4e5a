#include "reconcile/console_holders.hpp"

#include <gtest/gtest.h>

namespace seed::reconcile {
namespace {

TEST(ConsoleHolders, SecondCallerHearsWhoHoldsItAndSince) {
  ConsoleHolders h;
  const InstanceId web{"s-abc", "web"};
  const int64_t t = 1796378400LL * 1000000 + 123456;  // 2026-12-04T10:00:00.123456Z
  ASSERT_TRUE(h.take(web, "SHA256:first", t));
  auto second = h.take(web, "SHA256:second", t + 5000000);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::in_use);
  EXPECT_EQ(second.error().message, "console of web is in use by key SHA256:first since 2026-12-04T10:00:00Z");
  // The same key in a second ssh is refused alike: one console, not one per key.
  EXPECT_FALSE(h.take(web, "SHA256:first", t));
  // Another instance (same name, other namespace) is its own console.
  EXPECT_TRUE(h.take(InstanceId{"s-def", "web"}, "SHA256:second", t));
  h.release(web);
  EXPECT_TRUE(h.take(web, "SHA256:second", t));
}

}  // namespace
}  // namespace seed::reconcile
