// Public ports end to end: real nix, real QEMU guests, the real nftables ruleset of the test's
// network namespace. The first instance to expose a tcp port keeps it against later sources
// whose namespaces sort before and after its own, across a restart of seedd, until it gives
// it up; the others run without it and say so in `status` and in `plant`'s output.
//
// What forwards a public port is checked in the DNAT rules seedd installs (nft's own listing),
// not by connecting from outside the node: the rules themselves are tested with packets in
// src/net/firewall_root_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "engine_fixture.hpp"
#include "net/names.hpp"
#include "reconcile/flake_source.hpp"
#include "reconcile/service_json.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Serves port 80 (http, through the ingress) and port 2222 (tcp, a public port forward).
const char* game_flake = R"({
  outputs = { self }:
    let seed = import ./seed/test-lib.nix { busybox = ./bin; guest = ./guest; };
    in {
      seeds.web = seed.mkSeed {
        name = "web";
        seed = { expose.http.enable = true; expose.game = { port = 2222; protocol = "tcp"; }; };
        kernelParams = "seed.httpd=80:/run/seed/host,2222:/run/seed/host";
      };
    };
})";

class PortsTest : public EngineTest {
 protected:
  // The DNAT rules for public port 2222, as nft lists them.
  std::string forwards_of_2222() {
    const std::string chain = netns_->exec({"nft", "list", "chain", "inet", "seed", "prerouting"});
    std::string out;
    size_t at = 0;
    while ((at = chain.find("dport 2222", at)) != std::string::npos) {
      const size_t end = chain.find('\n', at);
      out += chain.substr(at, end - at) + "\n";
      at = end;
    }
    return out;
  }
};

TEST_F(PortsTest, TheFirstHolderKeepsAPublicPortWhateverTheNamespaceOrder) {
  open_engine();
  // Three sources: the holder, one whose namespace sorts before it and one after.
  std::map<std::string, std::string> by_ns;  // namespace → uri
  for (int i = 0; by_ns.size() < 12 && i < 40; ++i) {
    const std::string dir = root() + "/flake-" + std::to_string(i);
    auto parsed = reconcile::parse_flake_source("git+file://" + dir, config_.silo_root);
    ASSERT_TRUE(parsed) << parsed.error().describe();
    by_ns[parsed->ns] = "flake-" + std::to_string(i);
  }
  ASSERT_GE(by_ns.size(), 3u);
  auto middle = std::next(by_ns.begin(), static_cast<long>(by_ns.size() / 2));
  const std::string holder = write_flake(game_flake, middle->second);
  const std::string before = write_flake(game_flake, by_ns.begin()->second);
  const std::string after = write_flake(game_flake, by_ns.rbegin()->second);

  in_ns([&] {
    auto planted = engine_->plant(holder, "test", nullptr);
    ASSERT_TRUE(planted) << planted.error().describe();
  });
  const auto first = in_ns([&] { return instance(holder, "web"); });
  ASSERT_EQ(first.state, reconcile::InstanceState::running) << reconcile::to_json(first).dump();
  EXPECT_FALSE(first.failure);
  EXPECT_THAT(forwards_of_2222(), HasSubstr("dnat ip to " + first.ipv4 + ":2222"));

  std::map<std::string, reconcile::InstanceView> newcomers;
  for (const auto& uri : {before, after}) {
    in_ns([&] {
      auto planted = engine_->plant(uri, "test", nullptr);
      ASSERT_TRUE(planted) << planted.error().describe();
      // What `plant` prints (over SSH and seedctl alike) carries the conflict.
      EXPECT_THAT(reconcile::status_text({*planted}), HasSubstr("error [runtime]: public port 2222/tcp"));
      newcomers[uri] = instance(uri, "web");
    });
  }
  auto only_first = [&] {
    const std::string rules = forwards_of_2222();
    EXPECT_THAT(rules, HasSubstr("dnat ip to " + first.ipv4 + ":2222"));
    for (const auto& [uri, v] : newcomers) EXPECT_THAT(rules, Not(HasSubstr(v.ipv4 + ":")));
  };
  // The port was not taken from its holder (namespace order gave it to `before`).
  only_first();
  for (const auto& [uri, v] : newcomers) {
    SCOPED_TRACE(uri);
    EXPECT_EQ(v.state, reconcile::InstanceState::running) << "a port conflict does not fail the instance";
    ASSERT_TRUE(v.failure) << reconcile::to_json(v).dump();
    EXPECT_EQ(v.failure->stage, "runtime");
    EXPECT_THAT(v.failure->message, HasSubstr("2222/tcp"));
    EXPECT_THAT(v.failure->message, HasSubstr("another tenant"));
    EXPECT_THAT(v.failure->message, Not(HasSubstr(first.id.ns))) << "never says whom";
    EXPECT_THAT(v.failure->message, Not(HasSubstr("-b")));
  }
  EXPECT_FALSE(in_ns([&] { return instance(holder, "web"); }).failure);

  // A restarted seedd gives the port to the same instance (the holder is on disk; namespace
  // order would give it to `before`).
  close_engine();
  open_engine();
  only_first();
  EXPECT_TRUE(in_ns([&] { return instance(before, "web"); }).failure);

  // The holder gives it up (unplanted): the next claimant gets it and its conflict is over.
  in_ns([&] { ASSERT_TRUE(engine_->unplant(holder)); });
  const auto promoted = in_ns([&] { return instance(before, "web"); });
  EXPECT_FALSE(promoted.failure) << promoted.failure->message;
  EXPECT_THAT(forwards_of_2222(), HasSubstr("dnat ip to " + newcomers[before].ipv4 + ":2222"));
  EXPECT_TRUE(in_ns([&] { return instance(after, "web"); }).failure) << "`before` holds it now";
}

}  // namespace
}  // namespace seed::e2e
