#include "storage/size.hpp"

#include <gtest/gtest.h>

namespace seed::storage {
namespace {

TEST(ParseSize, BinaryAndDecimalSuffixesAndPlainBytes) {
  EXPECT_EQ(*parse_size("500Mi"), 500ULL * 1024 * 1024);
  EXPECT_EQ(*parse_size("1Gi"), 1ULL << 30);
  EXPECT_EQ(*parse_size("10G"), 10'000'000'000ULL);
  EXPECT_EQ(*parse_size("100M"), 100'000'000ULL);
  EXPECT_EQ(*parse_size("3k"), 3000ULL);
  EXPECT_EQ(*parse_size("2Ki"), 2048ULL);
  EXPECT_EQ(*parse_size("1Ti"), 1ULL << 40);
  EXPECT_EQ(*parse_size("4096"), 4096ULL);
  EXPECT_EQ(*parse_size("15Ei"), 15ULL << 60);
}

TEST(ParseSize, RejectsNonsenseNamingTheValue) {
  for (const char* bad : {"-1Gi", "1Qi", "0", "0Gi", "", " 1Gi", "1Gi ", "1 Gi", "1.5Gi", "1e9",
                          "1K", "1gi", "1GiB", "500m", "+1Gi", "Gi", "1,5G", "16Ei",
                          "99999999999999999999", "18446744073709551616"}) {
    auto r = parse_size(bad);
    ASSERT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
    EXPECT_NE(r.error().message.find("\"" + std::string(bad) + "\""), std::string::npos)
        << r.error().message;
  }
  EXPECT_NE(parse_size("-1Gi").error().message.find("negative"), std::string::npos);
  EXPECT_NE(parse_size("1Qi").error().message.find("unknown suffix \"Qi\""), std::string::npos);
  EXPECT_NE(parse_size("1.5Gi").error().message.find("fractions"), std::string::npos);
}

TEST(ParseSize, LargestValueThatFitsIsAccepted) {
  EXPECT_EQ(*parse_size("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_size("18446744073709552E").ok());
}

TEST(ParseVolumeSize, ErrorNamesInstanceAndVolume) {
  VolumeId id{"team", "web", "data"};
  EXPECT_EQ(*parse_volume_size("1Gi", id), 1ULL << 30);
  auto r = parse_volume_size("-1Gi", id);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("volume team/web/data (seed.storage.data of instance web)"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("\"-1Gi\""), std::string::npos);
  EXPECT_EQ(r.error().get("volume").value_or(""), "team/web/data");
}

TEST(FormatSize, RoundTripsThroughParse) {
  for (uint64_t v : {1ULL, 7ULL, 1000ULL, 1024ULL, 1500000ULL, 1ULL << 30, 3ULL << 40,
                     10'000'000'000ULL, 123456789ULL}) {
    std::string s = format_size(v);
    auto back = parse_size(s);
    ASSERT_TRUE(back.ok()) << s;
    EXPECT_EQ(*back, v) << s;
  }
  EXPECT_EQ(format_size(1ULL << 30), "1Gi");
  EXPECT_EQ(format_size(1500000), "1500k");
}

}  // namespace
}  // namespace seed::storage
