// Bridge, tap and address steps against the real kernel, each inside a namespace the test
// creates; state is read back with `ip -j`, independently of libnl.
#include <unistd.h>

#include <gtest/gtest.h>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/testing/temp_dir.hpp"
#include "net/bridge.hpp"
#include "net/network.hpp"
#include "net/nftables.hpp"
#include "net/tap.hpp"
#include "net/testing/netns.hpp"
#include "net/veth.hpp"

namespace seed::net {
namespace {

using testing::TestNetns;

class LinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, taps); run as root";
    TestNetns::sweep_stale();
    ns_ = std::make_unique<TestNetns>("links");
    config_.subnet = "10.88.0.0/24";
    config_.subnet6 = "fd5e:ed00::/64";
    config_.public_addresses = {"192.0.2.1"};
    config_.state_file = dir_.path() + "/addresses.json";
  }

  std::unique_ptr<Network> open_network() {
    auto n = Network::open(config_);
    if (!n) throw std::runtime_error(n.error().describe());
    return std::move(*n);
  }

  nlohmann::json link_json(const std::string& name) {
    auto j = nlohmann::json::parse(ns_->ip({"-j", "-d", "link", "show", "dev", name}));
    return j.at(0);
  }
  bool link_exists(const std::string& name) {
    auto j = nlohmann::json::parse(ns_->ip({"-j", "link", "show"}));
    for (auto& l : j) if (l.at("ifname") == name) return true;
    return false;
  }
  std::vector<std::string> global_addresses(const std::string& name) {
    std::vector<std::string> out;
    auto j = nlohmann::json::parse(ns_->ip({"-j", "addr", "show", "dev", name}));
    for (auto& a : j.at(0).at("addr_info")) {
      if (a.at("scope") == "global") {
        out.push_back(a.at("local").get<std::string>() + "/" + std::to_string(a.at("prefixlen").get<int>()));
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Link and address state without what changes by itself over time (bridge timers, the
  // "tentative" state of a fresh link-local address, lifetimes).
  std::string stable_state() {
    auto j = nlohmann::json::parse(ns_->ip({"-j", "-d", "link", "show"}));
    j.push_back(nlohmann::json::parse(ns_->ip({"-j", "addr", "show"})));
    std::function<void(nlohmann::json&)> strip = [&](nlohmann::json& v) {
      if (v.is_object()) {
        for (auto it = v.begin(); it != v.end();) {
          const std::string& k = it.key();
          if (k.find("timer") != std::string::npos || k == "tentative" || k.find("life_time") != std::string::npos) {
            it = v.erase(it);
          } else {
            strip(*it);
            ++it;
          }
        }
      } else if (v.is_array()) {
        for (auto& e : v) strip(e);
      }
    };
    strip(j);
    return j.dump();
  }
  static bool has_flag(const nlohmann::json& link, const std::string& flag) {
    for (auto& f : link.at("flags")) if (f == flag) return true;
    return false;
  }

  seed::testing::TempDir dir_;
  std::unique_ptr<TestNetns> ns_;
  NetworkConfig config_;
};

TEST_F(LinksTest, BridgeAndTapAreCreatedRightAndRepeatingChangesNothing) {
  auto net = open_network();
  InstanceId web{"alpha", "web"};
  auto link = ns_->run([&] {
    EXPECT_TRUE(net->ensure_bridge());
    return net->ensure_instance_link(web);
  });
  ASSERT_TRUE(link) << link.error().describe();

  auto br = link_json("seed0");
  EXPECT_EQ(br.at("linkinfo").at("info_kind"), "bridge");
  EXPECT_TRUE(has_flag(br, "UP"));
  EXPECT_EQ(br.at("address"), bridge_mac().str());  // fixed, not the lowest port's
  EXPECT_EQ(global_addresses("seed0"),
            (std::vector<std::string>{"10.88.0.1/24", "fd5e:ed00::1/64"}));

  auto tap = link_json(link->tap);
  EXPECT_EQ(link->tap, *tap_name(web));
  EXPECT_EQ(tap.at("linkinfo").at("info_kind"), "tun");
  EXPECT_EQ(tap.at("linkinfo").at("info_data").at("type"), "tap");
  EXPECT_EQ(tap.at("master"), "seed0");
  // The tap's own address is never the guest's (that one is the VMM's mac=): a bridge port
  // carrying its guest's MAC makes the bridge deliver frames for that guest to the host.
  EXPECT_EQ(tap.at("address"), tap_mac().str());
  EXPECT_EQ(link->mac, *instance_mac(web));
  EXPECT_NE(tap.at("address"), link->mac.str());
  EXPECT_EQ(tap.at("ifalias"), "seed:alpha/web");
  EXPECT_TRUE(has_flag(tap, "UP"));

  // Twice more, as a restarted seedd would: same links, same ifindexes, nothing changed.
  std::string before = stable_state();
  auto again = open_network();
  auto link2 = ns_->run([&] {
    EXPECT_TRUE(again->ensure_bridge());
    EXPECT_TRUE(again->ensure_bridge());
    EXPECT_TRUE(again->ensure_instance_link(web));
    return again->ensure_instance_link(web);
  });
  ASSERT_TRUE(link2) << link2.error().describe();
  EXPECT_EQ(link2->tap, link->tap);
  EXPECT_EQ(link2->mac, link->mac);
  EXPECT_EQ(stable_state(), before);

  // Removal is idempotent too.
  ns_->run([&] {
    EXPECT_TRUE(net->remove_instance_link(web));
    EXPECT_TRUE(net->remove_instance_link(web));
  });
  EXPECT_FALSE(link_exists(link->tap));
  EXPECT_TRUE(link_exists("seed0"));
}

// A node upgraded from a seedd that gave taps their guest's MAC (and left seed0's address to
// follow its ports): ensure_bridge at start-up fixes both, on taps whose VMs keep running.
TEST_F(LinksTest, EnsureBridgeFixesTheMacsAnOlderSeeddLeft) {
  auto net = open_network();
  InstanceId web{"alpha", "web"};
  auto link = ns_->run([&] {
    EXPECT_TRUE(net->ensure_bridge());
    return net->ensure_instance_link(web);
  });
  ASSERT_TRUE(link) << link.error().describe();
  ns_->ip({"link", "set", "dev", link->tap, "address", link->mac.str()});
  ns_->ip({"link", "set", "dev", "seed0", "address", "02:00:00:00:00:07"});
  ns_->ip({"link", "add", "other0", "type", "veth", "peer", "name", "other1"});
  ns_->ip({"link", "set", "dev", "other0", "master", "seed0", "address", "02:00:00:00:00:08"});
  ns_->run([&] { EXPECT_TRUE(open_network()->ensure_bridge()); });
  EXPECT_EQ(link_json(link->tap).at("address"), tap_mac().str());
  EXPECT_EQ(link_json("seed0").at("address"), bridge_mac().str());
  EXPECT_EQ(link_json("other0").at("address"), "02:00:00:00:00:08");  // not a Seed tap: left alone
}

TEST_F(LinksTest, TapIsPersistentAndOwnedWhenAsked) {
  config_.tap_owner = 4242;
  auto net = open_network();
  auto link = ns_->run([&] {
    EXPECT_TRUE(net->ensure_bridge());
    return net->ensure_instance_link({"beta", "db"});
  });
  ASSERT_TRUE(link) << link.error().describe();
  auto data = link_json(link->tap).at("linkinfo").at("info_data");
  EXPECT_EQ(data.at("user"), 4242);  // iproute2 calls TUNSETOWNER's uid "user"
  EXPECT_EQ(data.at("pi"), false);
  EXPECT_EQ(data.at("vnet_hdr"), true);
  EXPECT_EQ(data.at("multi_queue"), false);
}

TEST_F(LinksTest, BridgeAddressesConvergeToTheConfiguration) {
  ns_->run([&] { EXPECT_TRUE(open_network()->ensure_bridge()); });
  ns_->ip({"addr", "add", "10.99.0.1/16", "dev", "seed0"});  // stale, e.g. an old config
  config_.subnet = "10.77.0.0/24";
  config_.subnet6.clear();
  config_.state_file = dir_.path() + "/other.json";
  ns_->run([&] { EXPECT_TRUE(open_network()->ensure_bridge()); });
  EXPECT_EQ(global_addresses("seed0"), (std::vector<std::string>{"10.77.0.1/24"}));
}

TEST_F(LinksTest, ExistingLinksOfTheWrongKindOrOwnerAreConflicts) {
  auto net = open_network();
  InstanceId web{"alpha", "web"};
  std::string tap = *tap_name(web);
  // (This kernel has no dummy links; veth and bridge serve as "the wrong kind".)
  ns_->ip({"link", "add", "seed0", "type", "veth", "peer", "name", "seedpeer0"});
  auto st = ns_->run([&] { return net->ensure_bridge(); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::conflict);
  EXPECT_NE(st.error().message.find("veth, not a bridge"), std::string::npos);
  ns_->ip({"link", "del", "seed0"});

  ns_->run([&] { ASSERT_TRUE(net->ensure_bridge()); });
  ns_->ip({"link", "add", tap, "type", "bridge"});
  auto wrong_kind = ns_->run([&] { return net->ensure_instance_link(web); });
  ASSERT_FALSE(wrong_kind);
  EXPECT_EQ(wrong_kind.error().code, Errc::conflict);
  EXPECT_EQ(wrong_kind.error().get("instance").value_or(""), "alpha/web");
  // remove refuses to delete something that is not a tap.
  EXPECT_FALSE(ns_->run([&] { return net->remove_instance_link(web); }));
  EXPECT_TRUE(link_exists(tap));
  ns_->ip({"link", "del", tap});

  ASSERT_TRUE(ns_->run([&] { return net->ensure_instance_link(web); }));
  ns_->ip({"link", "set", "dev", tap, "alias", "seed:other/thing"});
  auto taken = ns_->run([&] { return net->ensure_instance_link(web); });
  ASSERT_FALSE(taken);
  EXPECT_NE(taken.error().message.find("belongs to seed:other/thing"), std::string::npos);
}

TEST_F(LinksTest, BadInstanceNameCreatesNothing) {
  auto net = open_network();
  std::string before = ns_->ip({"-j", "link", "show"});
  auto r = ns_->run([&] {
    EXPECT_TRUE(net->ensure_bridge());
    return net->ensure_instance_link({"alpha", "Not_A_Label"});
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  auto links = nlohmann::json::parse(ns_->ip({"-j", "link", "show"}));
  EXPECT_EQ(links.size(), 2u);  // lo and seed0 only
}

TEST_F(LinksTest, AddressesSurviveARestartAndTheFirewallAppliesThroughNetwork) {
  InstanceId web{"alpha", "web"}, db{"beta", "db"};
  Assignment web_addr;
  {
    auto net = open_network();
    web_addr = *net->allocate_address(web);
    ASSERT_TRUE(net->allocate_address(db));
  }
  auto net = open_network();  // a restarted seedd
  EXPECT_EQ(*net->allocate_address(web), web_addr);
  ASSERT_TRUE(web_addr.ipv6);
  auto fw_web = net->firewall_instance(web, {{8080, ExposeProtocol::tcp, 80}});
  auto fw_db = net->firewall_instance(db, {{8080, ExposeProtocol::udp, 80},
                                           {8080, ExposeProtocol::tcp, 80}});
  ASSERT_TRUE(fw_web && fw_db);
  auto conflicts = ns_->run([&] {
    EXPECT_TRUE(net->ensure_bridge());
    return net->apply_firewall({*fw_web, *fw_db});
  });
  ASSERT_TRUE(conflicts) << conflicts.error().describe();
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].get("instance").value_or(""), "beta/db");
  auto listed = ns_->run([] { return nft_list("list table inet seed"); });
  ASSERT_TRUE(listed) << listed.error().describe();
  EXPECT_NE(listed->find("udp dport 8080 dnat ip to " + (*fw_db).ipv4 + ":80"), std::string::npos);
  EXPECT_NE(listed->find("tcp dport 8080 dnat ip to " + web_addr.ipv4.str() + ":80"), std::string::npos);

  ASSERT_TRUE(net->release_address(db));
  EXPECT_FALSE(net->firewall_instance(db, {}));
  ns_->run([&] { EXPECT_TRUE(net->remove_firewall()); });
  auto gone = ns_->run([] { return nft_list("list table inet seed"); });
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
  // The host's own namespace was never touched: it has no seed table.
  auto host = nft_list("list table inet seed");
  EXPECT_FALSE(host);
}

}  // namespace
}  // namespace seed::net
