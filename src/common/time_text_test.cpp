#include "common/time_text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seed {
namespace {

constexpr int64_t kNow = 1796378400LL * 1000000;  // 2026-12-04T10:00:00Z

TEST(TimeText, DurationsCountBackFromNow) {
  EXPECT_EQ(*parse_since("90s", kNow), kNow - 90 * 1000000LL);
  EXPECT_EQ(*parse_since("10m", kNow), kNow - 600 * 1000000LL);
  EXPECT_EQ(*parse_since("1h", kNow), kNow - 3600 * 1000000LL);
  EXPECT_EQ(*parse_since("2d", kNow), kNow - 2 * 86400 * 1000000LL);
}

TEST(TimeText, Rfc3339WithZoneAndFraction) {
  EXPECT_EQ(*parse_since("2026-12-04T10:00:00Z", 0), kNow);
  EXPECT_EQ(*parse_since("2026-12-04T11:00:00+01:00", 0), kNow);
  EXPECT_EQ(*parse_since("2026-12-04T09:30:00-00:30", 0), kNow);
  EXPECT_EQ(*parse_since("2026-12-04T10:00:00.25Z", 0), kNow + 250000);
  EXPECT_EQ(*parse_since("1970-01-01T00:00:00Z", 0), 0);
}

TEST(TimeText, RefusesWithOneMessageNamingTheValue) {
  for (const char* bad : {"", "10", "m", "10x", "-5m", "10 m", "1h30m", "2026-12-04", "2026-12-04T10:00:00",
                          "2026-13-04T10:00:00Z", "2026-12-04T10:00:00Zjunk", "2026-12-04T10:00:00.Z",
                          "99999999999s"}) {
    auto r = parse_since(bad, kNow);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_THAT(r.error().message, ::testing::HasSubstr("'" + std::string(bad) + "'"));
    EXPECT_THAT(r.error().message, ::testing::HasSubstr("10m"));
  }
}

TEST(TimeText, FormatsUtcWithMicroseconds) {
  EXPECT_EQ(format_rfc3339_us(kNow + 123456), "2026-12-04T10:00:00.123456Z");
  EXPECT_EQ(format_rfc3339_us(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(*parse_since(format_rfc3339_us(kNow + 7), 0), kNow + 7);
}

}  // namespace
}  // namespace seed
