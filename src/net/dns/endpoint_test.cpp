#include "net/dns/endpoint.hpp"

#include <gtest/gtest.h>

namespace seed::net::dns {
namespace {

TEST(DnsEndpoint, ParsesIpv4AndIpv6WithPorts) {
  auto a = parse_endpoint("127.0.0.1:5353");
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(a->port(), 5353);
  EXPECT_EQ(a->to_string(), "127.0.0.1:5353");
  auto b = parse_endpoint("[fd00::1]:53");
  ASSERT_TRUE(b.ok()) << b.error().describe();
  EXPECT_EQ(b->to_string(), "[fd00::1]:53");
  EXPECT_EQ(address_string(b->addr), "fd00::1");
  EXPECT_EQ(parse_endpoint("10.0.0.1:0")->port(), 0);
}

TEST(DnsEndpoint, RejectsBadInputWithAHint) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:53x",
                          "localhost:53", "[::1]53", "fd00::1:53x", "[::1]:-1"}) {
    auto e = parse_endpoint(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.error().code, Errc::invalid_argument) << bad;
    EXPECT_TRUE(e.error().get("hint").has_value());
  }
}

}  // namespace
}  // namespace seed::net::dns
