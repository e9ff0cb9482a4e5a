#include "net/ip_address.hpp"

#include <gtest/gtest.h>

namespace seed::net {
namespace {

TEST(Ipv4, ParsesAndPrints) {
  auto a = parse_ipv4("10.1.2.3", "x");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 0x0a010203u);
  EXPECT_EQ(a->str(), "10.1.2.3");
  for (const char* bad : {"", "10.1.2", "10.1.2.256", "10.1.2.3/24", "fd00::1", "a.b.c.d"}) {
    auto r = parse_ipv4(bad, "network.gateway");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("network.gateway"), std::string::npos);
  }
}

TEST(Prefix4, ContainsBroadcastAndStrictHostBits) {
  auto p = parse_prefix4("10.88.0.0/24", "s");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains(*parse_ipv4("10.88.0.200", "x")));
  EXPECT_FALSE(p->contains(*parse_ipv4("10.88.1.1", "x")));
  EXPECT_EQ(p->broadcast().str(), "10.88.0.255");
  EXPECT_EQ(p->size(), 256u);
  EXPECT_EQ(p->str(), "10.88.0.0/24");
  EXPECT_TRUE(parse_prefix4("0.0.0.0/0", "s"));
  for (const char* bad : {"10.88.0.1/24", "10.88.0.0", "10.88.0.0/33", "10.88.0.0/", "10.88.0.0/x",
                          "10.88.0.0/24x", "10.88.0.0/-1"}) {
    EXPECT_FALSE(parse_prefix4(bad, "s")) << bad;
  }
}

TEST(Prefix6, ContainsAndOffsets) {
  auto p = parse_prefix6("fd5e:ed00::/64", "s");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->at(7).str(), "fd5e:ed00::7");
  EXPECT_EQ(p->at(0x1234).str(), "fd5e:ed00::1234");
  EXPECT_TRUE(p->contains(p->at(99)));
  EXPECT_FALSE(p->contains(*parse_ipv6("fd5e:ed01::7", "x")));
  EXPECT_FALSE(parse_prefix6("fd5e:ed00::1/64", "s"));
  EXPECT_FALSE(parse_prefix6("fd5e:ed00::/129", "s"));
  EXPECT_FALSE(parse_prefix6("10.0.0.0/8", "s"));
}

}  // namespace
}  // namespace seed::net
