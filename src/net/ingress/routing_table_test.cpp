#include "net/ingress/routing_table.hpp"

#include <gtest/gtest.h>

namespace seed::net::ingress {
namespace {

TEST(RoutingTable, FindsByPortAndNormalizedName) {
  DesiredRoutes d;
  d.ports[80]["A.Example"] = {"10.0.0.2", 8080};
  d.ports[443]["a.example."] = {"fd00::2", 8443};
  auto t = RoutingTable::build(d);
  ASSERT_TRUE(t) << t.error().describe();
  const Backend* http = (*t)->find(80, "a.example");
  ASSERT_NE(http, nullptr);
  EXPECT_EQ(http->text, "10.0.0.2:8080");
  const Backend* tls = (*t)->find(443, "a.example");
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->text, "[fd00::2]:8443");
  EXPECT_EQ((*t)->find(443, "b.example"), nullptr);
  EXPECT_EQ((*t)->find(8080, "a.example"), nullptr);
  EXPECT_EQ((*t)->size(), 2u);
}

TEST(RoutingTable, RejectsBadInputWithContext) {
  DesiredRoutes bad_name;
  bad_name.ports[80]["bad name"] = {"10.0.0.2", 80};
  auto r = RoutingTable::build(bad_name);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().get("hostname"), "bad name");

  DesiredRoutes bad_ip;
  bad_ip.ports[80]["a.example"] = {"not-an-ip", 80};
  r = RoutingTable::build(bad_ip);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().get("backend"), "not-an-ip");

  DesiredRoutes zero_port;
  zero_port.ports[80]["a.example"] = {"10.0.0.2", 0};
  EXPECT_FALSE(RoutingTable::build(zero_port));

  DesiredRoutes dup;
  dup.ports[80]["a.example"] = {"10.0.0.2", 80};
  dup.ports[80]["A.EXAMPLE"] = {"10.0.0.3", 80};
  r = RoutingTable::build(dup);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
}

TEST(RoutingTable, HostnameValidation) {
  EXPECT_TRUE(valid_hostname("web.ns.seed.example.org"));
  EXPECT_TRUE(valid_hostname("127.0.0.1"));
  EXPECT_FALSE(valid_hostname(""));
  EXPECT_FALSE(valid_hostname("a..b"));
  EXPECT_FALSE(valid_hostname("-a.b"));
  EXPECT_FALSE(valid_hostname("a-.b"));
  EXPECT_FALSE(valid_hostname(std::string(64, 'a') + ".b"));
  EXPECT_FALSE(valid_hostname("a b"));
  EXPECT_EQ(normalize_host("WeB.Example."), "web.example");
}

}  // namespace
}  // namespace seed::net::ingress
