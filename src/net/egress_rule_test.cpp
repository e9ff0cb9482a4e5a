#include "net/egress_rule.hpp"

#include <gtest/gtest.h>

namespace seed::net {
namespace {

TEST(EgressRule, ParsesPrefixesHostsAndPorts) {
  auto all = parse_egress_rule("192.168.1.0/24", "network.egress.allow");
  ASSERT_TRUE(all) << all.error().describe();
  EXPECT_EQ(*all, (EgressRule{"192.168.1.0/24", "", 0}));
  auto host = parse_egress_rule("192.168.1.20 tcp/443", "a");
  ASSERT_TRUE(host) << host.error().describe();
  EXPECT_EQ(*host, (EgressRule{"192.168.1.20/32", "tcp", 443}));
  auto v6 = parse_egress_rule("FD00:0::5 udp/53", "a");
  ASSERT_TRUE(v6) << v6.error().describe();
  EXPECT_EQ(*v6, (EgressRule{"fd00::5/128", "udp", 53}));
  EXPECT_EQ(to_string(*v6), "fd00::5/128 udp/53");
  EXPECT_EQ(to_string(*all), "192.168.1.0/24");
}

TEST(EgressRule, RefusesWhatItCannotRenderSafely) {
  for (const char* text : {"", "lan", "192.168.1.1/24", "10.0.0.0/33", "10.0.0.1 tcp", "10.0.0.1 icmp/1",
                           "10.0.0.1 tcp/0", "10.0.0.1 tcp/65536", "10.0.0.1 tcp/80x", "10.0.0.1 tcp/80 accept",
                           "10.0.0.1  tcp/80", "10.0.0.1\"; flush ruleset"}) {
    auto r = parse_egress_rule(text, "network.egress.allow[0]");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find("network.egress.allow[0]"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("ADDRESS[/LENGTH]"), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace seed::net
