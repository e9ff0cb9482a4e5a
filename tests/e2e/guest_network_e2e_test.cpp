// Guests on the node network, seen from inside real guests: two instances of one namespace
// talk to each other directly (ARP, then TCP), and neither reaches another namespace's
// instance, directly or routed through the gateway. Real QEMU/TCG guests on the real taps the
// engine made (veth stand-ins cannot catch a tap whose own MAC shadows its guest's), commands
// run in the guests through the agent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine_fixture.hpp"
#include "reconcile/slot_names.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using vmm::testing::guest_sh;

// Both instances serve their seed share (instance.json names them) on port 80.
std::string two_instance_flake(const std::string& a, const std::string& b) {
  auto one = [](const std::string& name) {
    return "seeds." + name + R"( = seed.mkSeed { name = ")" + name +
           R"("; seed = { expose.http.enable = true; }; kernelParams = "seed.httpd=80:/run/seed/host"; };)";
  };
  return R"({
  outputs = { self }:
    let seed = import ./seed/test-lib.nix { busybox = ./bin; guest = ./guest; };
    in {
      )" + one(a) + "\n      " + (b.empty() ? "" : one(b)) + R"(
    };
})";
}

class GuestNetworkTest : public EngineTest {
 protected:
  std::string agent_socket(const reconcile::InstanceView& v) {
    for (char slot : {'a', 'b'}) {
      std::string path = root() + "/run/vm/" + reconcile::slot_vm_name(v.id, slot) + "/agent.sock";
      if (std::filesystem::exists(path)) return path;
    }
    ADD_FAILURE() << "no agent socket for " << v.id.str();
    return "";
  }
  // An HTTP request from `from` to `to_ip`:80 with busybox nc; the raw answer and nc's errors.
  std::string fetch(const reconcile::InstanceView& from, const std::string& to_ip) {
    return guest_sh(agent_socket(from),
                    "printf 'GET /instance.json HTTP/1.0\\r\\n\\r\\n' | nc -w 5 " + to_ip + " 80 2>&1")
        .out;
  }
  std::string neighbour(const reconcile::InstanceView& from, const std::string& ip) {
    return guest_sh(agent_socket(from), "ip neigh show " + ip).out;
  }
  std::string guest_mac(const reconcile::InstanceView& v) {
    auto net = nlohmann::json::parse(guest_sh(agent_socket(v), "cat /run/seed/host/network.json").out, nullptr, false);
    EXPECT_TRUE(net.is_object()) << v.id.str() << " has no readable network.json";
    return net.is_object() ? net["interfaces"][0].value("mac", "") : "";
  }
};

TEST_F(GuestNetworkTest, SameNamespaceTalksDirectlyOtherNamespacesCannotEvenThroughTheGateway) {
  // A node routes (seedd's host module sets ip_forward=1): the routed path below is real.
  netns_->exec({"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"});
  open_engine();
  const std::string mine = write_flake(two_instance_flake("web", "api"), "mine");
  const std::string theirs = write_flake(two_instance_flake("other", ""), "theirs");
  in_ns([&] {
    auto a = engine_->plant(mine, "test", nullptr);
    ASSERT_TRUE(a) << a.error().describe();
    auto b = engine_->plant(theirs, "test", nullptr);
    ASSERT_TRUE(b) << b.error().describe();
  });
  const auto web = in_ns([&] { return instance(mine, "web"); });
  const auto api = in_ns([&] { return instance(mine, "api"); });
  const auto other = in_ns([&] { return instance(theirs, "other"); });
  ASSERT_EQ(web.state, reconcile::InstanceState::running);
  ASSERT_EQ(api.state, reconcile::InstanceState::running);
  ASSERT_EQ(other.state, reconcile::InstanceState::running);
  ASSERT_EQ(web.id.ns, api.id.ns);
  ASSERT_NE(web.id.ns, other.id.ns);
  const std::string gateway = "10.77.0.1";

  // Same namespace, directly on the bridge: ARP resolves api's own MAC, and TCP connects.
  EXPECT_THAT(fetch(web, api.ipv4), HasSubstr("\"name\": \"api\""));
  EXPECT_THAT(neighbour(web, api.ipv4), HasSubstr("lladdr " + guest_mac(api)));
  EXPECT_THAT(fetch(api, web.ipv4), HasSubstr("\"name\": \"web\""));

  // Another namespace, directly: no ARP answer, no connection.
  EXPECT_THAT(fetch(web, other.ipv4), Not(HasSubstr("\"name\"")));
  EXPECT_THAT(neighbour(web, other.ipv4), Not(HasSubstr(guest_mac(other))));
  EXPECT_THAT(fetch(other, web.ipv4), Not(HasSubstr("\"name\"")));

  // Through the gateway (the host routes it): same namespace still works, the other does not.
  for (const auto& ip : {api.ipv4, other.ipv4}) {
    auto route = guest_sh(agent_socket(web), "ip route replace " + ip + "/32 via " + gateway);
    ASSERT_EQ(route.rc, 0) << route.out;
  }
  EXPECT_THAT(fetch(web, api.ipv4), HasSubstr("\"name\": \"api\""));
  EXPECT_THAT(fetch(web, other.ipv4), Not(HasSubstr("\"name\"")));
  auto back = guest_sh(agent_socket(other), "ip route replace " + web.ipv4 + "/32 via " + gateway);
  ASSERT_EQ(back.rc, 0) << back.out;
  EXPECT_THAT(fetch(other, web.ipv4), Not(HasSubstr("\"name\"")));
}

}  // namespace
}  // namespace seed::e2e
