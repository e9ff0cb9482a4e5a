#include "api/acme/nonces.hpp"

#include <gtest/gtest.h>

#include <set>

namespace seed::api::acme {
namespace {

using namespace std::chrono_literals;

TEST(NonceStore, EachNonceWorksOnceWithinItsLifetime) {
  NonceStore store(16, 60s);
  const auto t0 = NonceStore::Clock::time_point{} + 1000s;
  std::string a = store.issue(t0), b = store.issue(t0);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 22u);  // 16 random bytes, base64url
  EXPECT_TRUE(store.consume(a, t0 + 1s));
  EXPECT_FALSE(store.consume(a, t0 + 2s));  // replay
  EXPECT_FALSE(store.consume(b, t0 + 61s));  // expired
  EXPECT_FALSE(store.consume(b, t0 + 1s));   // and gone
  EXPECT_FALSE(store.consume("made-up", t0));
}

TEST(NonceStore, MemoryIsBoundedByForgettingTheOldest) {
  NonceStore store(4, 60s);
  const auto t0 = NonceStore::Clock::time_point{} + 1000s;
  std::vector<std::string> issued;
  for (int i = 0; i < 100; ++i) issued.push_back(store.issue(t0));
  EXPECT_EQ(std::set<std::string>(issued.begin(), issued.end()).size(), 100u);
  for (int i = 0; i < 96; ++i) EXPECT_FALSE(store.consume(issued[i], t0)) << i;
  for (int i = 96; i < 100; ++i) EXPECT_TRUE(store.consume(issued[i], t0)) << i;
}

TEST(NonceStore, AnOldUnconsumedNonceDoesNotLetTheQueueGrow) {
  NonceStore store(8, 3600s);
  const auto t0 = NonceStore::Clock::time_point{} + 1000s;
  const std::string stale = store.issue(t0);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(store.consume(store.issue(t0), t0));
  EXPECT_TRUE(store.consume(stale, t0));  // still live: it was never the oldest of 8 live ones
  EXPECT_LE(store.queued_for_test(), 17u);
}

}  // namespace
}  // namespace seed::api::acme
