#include "common/source_rate_limiter.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace seed {
namespace {

sockaddr_storage v4(const char* text) {
  sockaddr_storage s{};
  auto& sin = reinterpret_cast<sockaddr_in&>(s);
  sin.sin_family = AF_INET;
  inet_pton(AF_INET, text, &sin.sin_addr);
  return s;
}

sockaddr_storage v6(const char* text) {
  sockaddr_storage s{};
  auto& sin6 = reinterpret_cast<sockaddr_in6&>(s);
  sin6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, text, &sin6.sin6_addr);
  return s;
}

using V = RateLimiter::Verdict;
using namespace std::chrono_literals;

TEST(SourceRateLimiter, OffAllowsEverything) {
  RateLimiter rl({});
  EXPECT_FALSE(rl.enabled());
  auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(rl.check(v4("10.0.0.1"), t), V::allow);
}

TEST(SourceRateLimiter, BurstThenRefillAtTheConfiguredRate) {
  RateLimitConfig c;
  c.queries_per_second = 10;
  c.burst = 5;
  c.slip = 0;
  RateLimiter rl(c);
  auto t = RateLimiter::Clock::now();
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += rl.check(v4("10.0.0.1"), t) == V::allow;
  EXPECT_EQ(allowed, 5);
  // 300 ms later: 3 more tokens.
  allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += rl.check(v4("10.0.0.1"), t + 300ms) == V::allow;
  EXPECT_EQ(allowed, 3);
  // Another source has its own bucket.
  EXPECT_EQ(rl.check(v4("10.0.0.2"), t + 300ms), V::allow);
}

TEST(SourceRateLimiter, SlipAnswersEveryNthLimitedQuery) {
  RateLimitConfig c;
  c.queries_per_second = 1;
  c.burst = 1;
  c.slip = 2;
  RateLimiter rl(c);
  auto t = RateLimiter::Clock::now();
  EXPECT_EQ(rl.check(v4("10.0.0.1"), t), V::allow);
  EXPECT_EQ(rl.check(v4("10.0.0.1"), t), V::drop);
  EXPECT_EQ(rl.check(v4("10.0.0.1"), t), V::slip);
  EXPECT_EQ(rl.check(v4("10.0.0.1"), t), V::drop);
  EXPECT_EQ(rl.check(v4("10.0.0.1"), t), V::slip);
}

TEST(SourceRateLimiter, Ipv6SourcesShareABucketPerSlash56) {
  RateLimitConfig c;
  c.queries_per_second = 1;
  c.burst = 2;
  c.slip = 0;
  RateLimiter rl(c);
  auto t = RateLimiter::Clock::now();
  EXPECT_EQ(rl.check(v6("2001:db8:0:1::1"), t), V::allow);
  EXPECT_EQ(rl.check(v6("2001:db8:0:2::9"), t), V::allow);  // same /56
  EXPECT_EQ(rl.check(v6("2001:db8:0:3::7"), t), V::drop);
  EXPECT_EQ(rl.check(v6("2001:db8:1::1"), t), V::allow);  // another /56
}

TEST(SourceRateLimiter, MemoryStaysBoundedUnderManySources) {
  RateLimitConfig c;
  c.queries_per_second = 5;
  c.table_size = 64;
  RateLimiter rl(c);
  auto t = RateLimiter::Clock::now();
  // 100k distinct (spoofed) sources: the table never grows; each new one starts allowed.
  for (uint32_t i = 0; i < 100000; ++i) {
    sockaddr_storage s{};
    auto& sin = reinterpret_cast<sockaddr_in&>(s);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x0a000000 + i);
    ASSERT_EQ(rl.check(s, t), V::allow);
  }
  SUCCEED();
}

}  // namespace
}  // namespace seed
