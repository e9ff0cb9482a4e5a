#include "sshcli/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace seed::sshcli {
namespace {

TEST(RateLimiter, BurstThenRefillPerKey) {
  RateLimiter rl(3, 1.0);
  auto t = RateLimiter::Clock::now();
  std::chrono::milliseconds retry{0};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.allow("a", t, retry));
  EXPECT_FALSE(rl.allow("a", t, retry));
  EXPECT_GT(retry.count(), 0);
  EXPECT_LE(retry.count(), 1000);
  EXPECT_TRUE(rl.allow("b", t, retry));  // another key has its own bucket
  EXPECT_TRUE(rl.allow("a", t + std::chrono::milliseconds(1001), retry));
  EXPECT_FALSE(rl.allow("a", t + std::chrono::milliseconds(1002), retry));
}

TEST(RateLimiter, MemoryStaysBounded) {
  RateLimiter rl(1, 1.0);
  auto t = RateLimiter::Clock::now();
  std::chrono::milliseconds retry{0};
  for (int i = 0; i < 10000; ++i) (void)rl.allow("k" + std::to_string(i), t + std::chrono::seconds(i), retry);
  EXPECT_LE(rl.tracked(), 4096u);
}

}  // namespace
}  // namespace seed::sshcli
