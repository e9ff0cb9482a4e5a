// The rendered firewall against the real kernel and real packets. A test "node" is a network
// namespace with the seed0 bridge and an uplink; each instance is a namespace whose eth0 is
// the far end of a veth whose near end (named like the instance's tap) is a bridge port; a
// client namespace stands for the outside world. Every case runs with br_netfilter passing
// bridged traffic through the inet hooks and without it, because hosts differ.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <random>

#include "net/bridge.hpp"
#include "net/nftables.hpp"
#include "net/ruleset.hpp"
#include "net/testing/netns.hpp"
#include "net/testing/probe.hpp"
#include "net/testing/sample_spec.hpp"
#include "net/veth.hpp"

namespace seed::net {
namespace {

using namespace std::chrono_literals;
using testing::TestNetns;

// Long enough for a veth hop; a datagram that has not arrived by then was dropped.
constexpr auto kNegativeWait = 400ms;
constexpr auto kPositiveWait = 3s;

class FirewallTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, nftables); run as root";
    TestNetns::sweep_stale();
    spec_ = testing::sample_spec();
    host_ = std::make_unique<TestNetns>("node");
    outside_ = std::make_unique<TestNetns>("out");
    lan_ = std::make_unique<TestNetns>("lan");
    for (const auto& i : spec_.instances) {
      instances_.emplace(i.name, std::make_unique<TestNetns>(i.name));
    }
    std::string nf = GetParam() ? "1" : "0";
    host_->exec({"sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
                 "net.bridge.bridge-nf-call-iptables=" + nf,
                 "net.bridge.bridge-nf-call-ip6tables=" + nf});
    auto st = host_->run([&]() -> Status {
      auto sock = SEED_TRY(NlSocket::open());
      auto br = SEED_TRY(ensure_bridge(sock, {"seed0", {{*parse_ipv4("10.88.0.1", "gw"), 24},
                                                        {*parse_ipv6("fd5e:ed00::1", "gw6"), 64}}}));
      for (const auto& i : spec_.instances) {
        auto v = SEED_TRY(ensure_veth(sock, {i.tap, "eth0", instances_.at(i.name)->fd()}));
        LinkChange c;
        c.master = br.ifindex;
        c.up = true;
        SEED_TRY(change_link(sock, v, c));
      }
      LinkChange c;
      c.up = true;
      auto lan = SEED_TRY(ensure_veth(sock, {"lan0", "eth0", lan_->fd()}));
      SEED_TRY(change_link(sock, lan, c));
      auto up = SEED_TRY(ensure_veth(sock, {"up0", "eth0", outside_->fd()}));
      return change_link(sock, up, c);
    });
    ASSERT_TRUE(st) << st.error().describe();
    host_->ip({"addr", "add", "192.0.2.1/24", "dev", "up0"});
    outside_->ip({"addr", "add", "192.0.2.2/24", "dev", "eth0"});
    outside_->ip({"link", "set", "eth0", "up"});
    // The node's LAN: private addresses a homelab's other machines have.
    host_->ip({"addr", "add", "192.168.7.1/24", "dev", "lan0"});
    lan_->ip({"addr", "add", "192.168.7.2/24", "dev", "eth0"});
    lan_->ip({"link", "set", "eth0", "up"});
    lan_->ip({"route", "add", "default", "via", "192.168.7.1"});
    for (const auto& i : spec_.instances) {
      auto& ns = *instances_.at(i.name);
      ns.ip({"link", "set", "eth0", "address", i.mac});
      ns.ip({"addr", "add", i.ipv4 + "/24", "dev", "eth0"});
      ns.ip({"link", "set", "eth0", "up"});
      ns.ip({"route", "add", "default", "via", "10.88.0.1"});
      if (!i.ipv6.empty()) ns.ip({"addr", "add", i.ipv6 + "/64", "dev", "eth0", "nodad"});
    }
  }

  void apply() {
    auto r = render_ruleset(spec_);
    ASSERT_TRUE(r) << r.error().describe();
    auto st = host_->run([&] { return nft_apply(r->text); });
    ASSERT_TRUE(st) << st.error().describe();
  }

  const FirewallInstance& inst(const std::string& name) {
    for (const auto& i : spec_.instances) if (i.name == name) return i;
    throw std::runtime_error("no instance " + name);
  }
  const TestNetns& ns(const std::string& name) { return *instances_.at(name); }

  // Sends one datagram from `from` (optionally with a forged source) to `to_ip`:`port`, with a
  // receiver bound in `to`; returns what arrived.
  std::optional<testing::Datagram> udp(const TestNetns& from, const std::string& source,
                                       const TestNetns& to, const std::string& to_ip,
                                       uint16_t port, bool expect, uint16_t rx_port = 0) {
    bool v6 = to_ip.find(':') != std::string::npos;
    UniqueFd rx = to.run([&] { return testing::udp_bind(rx_port ? rx_port : port, v6); });
    std::string token = "probe-" + std::to_string(std::random_device{}());
    auto st = from.run([&] { return testing::udp_send(source, to_ip, port, token); });
    EXPECT_TRUE(st) << st.error().describe();
    auto got = testing::udp_wait(rx.get(), expect ? kPositiveWait : kNegativeWait);
    if (got && got->payload != token) return std::nullopt;
    return got;
  }
  bool reaches(const std::string& from, const std::string& to) {
    return udp(ns(from), "", ns(to), inst(to).ipv4, 7000, true).has_value();
  }
  bool blocked(const std::string& from, const std::string& to) {
    return !udp(ns(from), "", ns(to), inst(to).ipv4, 7000, false).has_value();
  }

  FirewallSpec spec_;
  std::unique_ptr<TestNetns> host_, outside_, lan_;
  std::map<std::string, std::unique_ptr<TestNetns>> instances_;
};

TEST_P(FirewallTest, WithoutTheRulesetEverythingFlows) {
  // The control: the probes below can see a packet that the ruleset is meant to stop.
  EXPECT_TRUE(reaches("web", "db"));
  EXPECT_TRUE(udp(ns("web"), "10.88.0.50", ns("api"), inst("api").ipv4, 7001, true));
  EXPECT_TRUE(udp(ns("web"), "fd5e:ed00::50", ns("api"), inst("api").ipv6, 7002, true));
  EXPECT_TRUE(udp(ns("web"), "", *lan_, "192.168.7.2", 8001, true));
  EXPECT_TRUE(udp(ns("web"), "", *host_, "10.88.0.1", 5300, true));
}

TEST_P(FirewallTest, SameNamespaceTalksOtherNamespacesCannot) {
  apply();
  EXPECT_TRUE(reaches("web", "api"));
  EXPECT_TRUE(reaches("api", "web"));
  EXPECT_TRUE(blocked("web", "db"));
  EXPECT_TRUE(blocked("db", "web"));
  EXPECT_TRUE(blocked("db", "api"));
}

TEST_P(FirewallTest, RoutingThroughTheHostDoesNotCrossNamespaces) {
  apply();
  // Send to another instance's address but to the gateway's MAC, so the host routes it.
  auto link = nlohmann::json::parse(host_->ip({"-j", "link", "show", "seed0"})).at(0);
  std::string gw_mac = link.at("address");
  for (const char* target : {"api", "db"}) {
    ns("web").ip({"neigh", "replace", inst(target).ipv4, "lladdr", gw_mac, "dev", "eth0",
                  "nud", "permanent"});
  }
  EXPECT_TRUE(reaches("web", "api"));  // same namespace: routed is fine
  EXPECT_TRUE(blocked("web", "db"));
}

TEST_P(FirewallTest, ForgedSourceAddressOrMacIsDropped) {
  apply();
  EXPECT_FALSE(udp(ns("web"), "10.88.0.50", ns("api"), inst("api").ipv4, 7001, false));
  EXPECT_FALSE(udp(ns("web"), inst("api").ipv4, ns("api"), inst("api").ipv4, 7001, false));
  EXPECT_FALSE(udp(ns("web"), "10.88.0.1", ns("api"), inst("api").ipv4, 7001, false));
  // A forged MAC: pin api's neighbour entry so the datagram itself (not ARP) is what is sent.
  ns("web").ip({"neigh", "replace", inst("api").ipv4, "lladdr", inst("api").mac, "dev", "eth0",
                "nud", "permanent"});
  ns("web").ip({"link", "set", "eth0", "address", "02:00:00:00:00:99"});
  EXPECT_TRUE(blocked("web", "api"));
  ns("web").ip({"link", "set", "eth0", "address", inst("web").mac});
  EXPECT_TRUE(reaches("web", "api"));
}

TEST_P(FirewallTest, Ipv6SourcesArePinnedToo) {
  apply();
  const std::string api6 = inst("api").ipv6;
  auto got = udp(ns("web"), "", ns("api"), api6, 7002, true);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->source, inst("web").ipv6);
  EXPECT_FALSE(udp(ns("web"), "fd5e:ed00::50", ns("api"), api6, 7002, false));
  EXPECT_FALSE(udp(ns("web"), api6, ns("api"), api6, 7002, false));
  EXPECT_TRUE(udp(ns("web"), "", *host_, "fd5e:ed00::1", 53, true));  // the bridge address (DNS)
}

TEST_P(FirewallTest, ExposedPortsReachTheRightInstanceAndConflictsAreReported) {
  auto r = render_ruleset(spec_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->conflicts.size(), 1u);  // db asked for 8080/tcp after web
  EXPECT_EQ(r->conflicts[0].code, Errc::conflict);
  EXPECT_EQ(r->conflicts[0].get("instance").value_or(""), "beta/db");
  EXPECT_EQ(r->conflicts[0].get("holder").value_or(""), "alpha/web");
  apply();
  UniqueFd web80 = ns("web").run([] { return testing::tcp_listen(80); });
  UniqueFd db80 = ns("db").run([] { return testing::tcp_listen(80); });
  UniqueFd db5432 = ns("db").run([] { return testing::tcp_listen(5432); });

  auto c1 = outside_->run([] { return testing::tcp_connect("192.0.2.1", 8080, 3s); });
  ASSERT_TRUE(c1) << c1.error().describe();
  EXPECT_TRUE(testing::tcp_pending(web80.get(), 1s));
  EXPECT_FALSE(testing::tcp_pending(db80.get(), 0ms));  // the first claimant kept 8080

  auto c2 = outside_->run([] { return testing::tcp_connect("192.0.2.1", 5432, 3s); });
  ASSERT_TRUE(c2) << c2.error().describe();
  EXPECT_TRUE(testing::tcp_pending(db5432.get(), 1s));

  // dns: 53/udp on the public address goes to web's 5353, keeping the client's address.
  auto dns = udp(*outside_, "", ns("web"), "192.0.2.1", 53, true, 5353);
  ASSERT_TRUE(dns);
  EXPECT_EQ(dns->source, "192.0.2.2");
  // Not exposed: nothing gets in.
  auto closed = outside_->run([] { return testing::tcp_connect("192.0.2.1", 9999, 500ms); });
  EXPECT_FALSE(closed);
  auto direct = outside_->run([&] { return testing::tcp_connect(inst("web").ipv4, 80, 500ms); });
  EXPECT_FALSE(direct);  // (the outside has no route anyway; with one, forward drops it)
}

TEST_P(FirewallTest, GuestsReachTheHostOnlyOnTheBridgeAddress) {
  apply();
  EXPECT_TRUE(udp(ns("web"), "", *host_, "10.88.0.1", 53, true));
  EXPECT_FALSE(udp(ns("web"), "", *host_, "192.0.2.1", 53, false));
}

// Listeners on wildcard addresses, as the node owner's services and seedd's SSH ("::") are:
// from a guest only DNS and the guest API port answer on the bridge address. The host's own
// connections to guests (health checks, the ingress) still get their replies.
TEST_P(FirewallTest, GuestsReachOnlyDnsAndTheGuestApiOnTheHost) {
  apply();
  UniqueFd ssh = host_->run([] { return testing::tcp_listen(2222); });
  UniqueFd dns = host_->run([] { return testing::tcp_listen(53); });
  UniqueFd api = host_->run([] { return testing::tcp_listen(9876); });
  auto from_web = [&](uint16_t port) {
    return ns("web").run([&] { return testing::tcp_connect("10.88.0.1", port, 1s); });
  };
  EXPECT_FALSE(from_web(2222)) << "a host service on a wildcard address is reachable from a guest";
  EXPECT_FALSE(testing::tcp_pending(ssh.get(), 0ms));
  EXPECT_TRUE(from_web(53));
  EXPECT_TRUE(testing::tcp_pending(dns.get(), 1s));
  EXPECT_TRUE(from_web(9876));
  EXPECT_TRUE(testing::tcp_pending(api.get(), 1s));
  EXPECT_FALSE(udp(ns("web"), "", *host_, "10.88.0.1", 5300, false));
  EXPECT_FALSE(udp(ns("web"), "", *host_, "fd5e:ed00::1", 5300, false));
  EXPECT_TRUE(udp(ns("web"), "", *host_, "fd5e:ed00::1", 53, true));
  // The host opens a connection to a guest: the guest's answer comes back.
  UniqueFd web80 = ns("web").run([] { return testing::tcp_listen(80); });
  auto probe = host_->run([&] { return testing::tcp_connect(inst("web").ipv4, 80, 3s); });
  EXPECT_TRUE(probe) << probe.error().describe();
}

// The egress policy: the internet yes, the LAN no, except what the allow list names; replies
// to a LAN client of an exposed port pass.
TEST_P(FirewallTest, GuestsReachTheLanOnlyThroughTheAllowList) {
  apply();
  UniqueFd allowed = lan_->run([] { return testing::tcp_listen(8000); });
  UniqueFd other = lan_->run([] { return testing::tcp_listen(8001); });
  auto from_web = [&](uint16_t port) {
    return ns("web").run([&] { return testing::tcp_connect("192.168.7.2", port, 1s); });
  };
  EXPECT_FALSE(from_web(8001)) << "a LAN-side listener is reachable from a guest";
  EXPECT_FALSE(testing::tcp_pending(other.get(), 0ms));
  EXPECT_FALSE(udp(ns("web"), "", *lan_, "192.168.7.2", 8001, false));
  EXPECT_FALSE(udp(ns("web"), "", *host_, "192.168.7.1", 8001, false));  // the node's LAN address
  EXPECT_TRUE(from_web(8000));
  EXPECT_TRUE(testing::tcp_pending(allowed.get(), 1s));
  EXPECT_TRUE(udp(ns("db"), "", *outside_, "192.0.2.2", 9000, true));  // the internet
  // A LAN machine uses web's exposed port: web's answers to a private address get out.
  UniqueFd web80 = ns("web").run([] { return testing::tcp_listen(80); });
  auto client = lan_->run([] { return testing::tcp_connect("192.0.2.1", 8080, 3s); });
  EXPECT_TRUE(client) << client.error().describe();
  EXPECT_TRUE(testing::tcp_pending(web80.get(), 1s));
}

TEST_P(FirewallTest, WithTheInternetOffOnlyTheAllowListIsReachable) {
  spec_.egress.internet = false;
  spec_.egress.allow.push_back({"192.0.2.2/32", "udp", 9001});
  apply();
  EXPECT_FALSE(udp(ns("db"), "", *outside_, "192.0.2.2", 9000, false));
  EXPECT_TRUE(udp(ns("db"), "", *outside_, "192.0.2.2", 9001, true));
}

TEST_P(FirewallTest, EgressIsMasqueraded) {
  apply();
  auto got = udp(ns("db"), "", *outside_, "192.0.2.2", 9000, true);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->source, "192.0.2.1");
}

TEST_P(FirewallTest, ARejectedRulesetChangesNothingAndCarriesNftsMessage) {
  apply();
  auto bad = host_->run([] {
    return nft_apply("table inet seed\ndelete table inet seed\n"
                     "table inet seed { chain c { type nat hook forward priority 0; } }\n");
  });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_NE(bad.error().get("nft").value_or("").find("Error"), std::string::npos)
      << bad.error().describe();
  auto syntax = host_->run([] { return nft_apply("table inet seed { chain c { tcp dport 70000 accept } }"); });
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.error().get("nft").value_or("").find("70000"), std::string::npos)
      << syntax.error().describe();
  // The previous ruleset is still the one in force, and still works.
  auto listed = host_->run([] { return nft_list("list table inet seed"); });
  ASSERT_TRUE(listed) << listed.error().describe();
  EXPECT_NE(listed->find("dnat ip to 10.88.0.2:80"), std::string::npos);
  EXPECT_TRUE(blocked("web", "db"));
}

TEST_P(FirewallTest, ReapplyingIsAtomicAndIdempotent) {
  apply();
  auto first = host_->run([] { return nft_list("list ruleset"); });
  apply();
  auto second = host_->run([] { return nft_list("list ruleset"); });
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, *second);
  // Dropping db from the spec removes its port and isolates nothing else.
  spec_.instances.pop_back();
  apply();
  EXPECT_TRUE(blocked("db", "web"));  // an unknown Seed port: dropped at the bridge
  EXPECT_TRUE(reaches("web", "api"));
}

INSTANTIATE_TEST_SUITE_P(BrNetfilter, FirewallTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "bridge_nf_on" : "bridge_nf_off"; });

}  // namespace
}  // namespace seed::net
