#include "reconcile/keys_cache.hpp"

#include <gtest/gtest.h>

namespace seed::reconcile {
namespace {

using namespace std::chrono_literals;

class KeysCacheTest : public ::testing::Test {
 protected:
  KeysCache::Fetch gives(std::string text) {
    return [this, text] { ++fetches_; return Result<std::string>(text); };
  }
  KeysCache::Fetch fails() {
    return [this]() -> Result<std::string> { ++fetches_; return make_error(Errc::io, "github.com unreachable"); };
  }
  std::chrono::steady_clock::time_point now_{};
  KeysCache cache_{60s, 3600s, [this] { return now_; }};
  int fetches_ = 0;
};

TEST_F(KeysCacheTest, FreshTextIsReusedThenFetchedAgain) {
  EXPECT_EQ(*cache_.get("github:a/app", gives("k1")), "k1");
  now_ += 59s;
  EXPECT_EQ(*cache_.get("github:a/app", gives("k2")), "k1");
  EXPECT_EQ(fetches_, 1);
  now_ += 1s;
  EXPECT_EQ(*cache_.get("github:a/app", gives("k2")), "k2");
  EXPECT_EQ(fetches_, 2);
}

TEST_F(KeysCacheTest, SourcesAreKeptApart) {
  EXPECT_EQ(*cache_.get("github:a/app", gives("a")), "a");
  EXPECT_EQ(*cache_.get("github:b/app", gives("b")), "b");
  EXPECT_EQ(*cache_.get("github:a/app", gives("x")), "a");
}

TEST_F(KeysCacheTest, ForgottenSourceIsFetchedAtOnce) {
  EXPECT_EQ(*cache_.get("github:a/app", gives("old")), "old");
  cache_.forget("github:a/app");
  EXPECT_EQ(*cache_.get("github:a/app", gives("new")), "new");
}

TEST_F(KeysCacheTest, FailedFetchServesTheLastTextUntilItIsTooOld) {
  EXPECT_EQ(*cache_.get("github:a/app", gives("k")), "k");
  now_ += 61s;
  EXPECT_EQ(*cache_.get("github:a/app", fails()), "k");
  now_ += 3600s;
  auto r = cache_.get("github:a/app", fails());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "github.com unreachable");
}

TEST_F(KeysCacheTest, FailureWithNothingCachedIsTheError) {
  EXPECT_FALSE(cache_.get("github:a/app", fails()));
  EXPECT_FALSE(cache_.get("github:a/app", fails()));
  EXPECT_EQ(fetches_, 2);  // failures are not cached
}

}  // namespace
}  // namespace seed::reconcile
