// Network's configuration checks: everything here fails before any link or rule is touched,
// so it runs unprivileged.
#include "net/network.hpp"

#include <gtest/gtest.h>

#include "common/testing/temp_dir.hpp"

namespace seed::net {
namespace {

class NetworkConfigTest : public ::testing::Test {
 protected:
  NetworkConfig base() {
    NetworkConfig c;
    c.state_file = dir_.path() + "/addresses.json";
    return c;
  }
  seed::testing::TempDir dir_;
};

TEST_F(NetworkConfigTest, BadConfigurationIsOneClearErrorNamingTheSetting) {
  auto c = base();
  c.subnet = "10.88.0.0/31";
  auto small = Network::open(c);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().get("setting").value_or(""), "network.subnet");
  EXPECT_NE(small.error().message.find("too small"), std::string::npos);

  c = base();
  c.gateway = "10.99.0.1";
  EXPECT_EQ(Network::open(c).error().get("setting").value_or(""), "network.gateway");

  c = base();
  c.bridge = "a-bridge-name-far-too-long";
  EXPECT_EQ(Network::open(c).error().get("setting").value_or(""), "network.bridge");

  c = base();
  c.state_file.clear();
  EXPECT_EQ(Network::open(c).error().get("setting").value_or(""), "network.state_file");
}

TEST_F(NetworkConfigTest, FirewallEntriesComeFromTheAllocatedAddress) {
  auto net = Network::open(base());
  ASSERT_TRUE(net) << net.error().describe();
  InstanceId id{"alpha", "web"};
  EXPECT_EQ((*net)->firewall_instance(id, {}).error().code, Errc::not_found);
  auto a = (*net)->allocate_address(id);
  ASSERT_TRUE(a);
  auto f = (*net)->firewall_instance(id, {{8080, ExposeProtocol::tcp, 80}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->ipv4, a->ipv4.str());
  EXPECT_EQ(f->tap, *tap_name(id));
  EXPECT_EQ(f->mac, instance_mac(id)->str());
  EXPECT_TRUE(f->ipv6.empty());
  EXPECT_FALSE((*net)->allocate_address({"alpha", "Bad_Name"}));
}

}  // namespace
}  // namespace seed::net
