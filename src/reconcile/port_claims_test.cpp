#include "reconcile/port_claims.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seed::reconcile {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Exposes = std::map<std::string, ExposeMeta>;
using Routed = std::map<InstanceId, Exposes>;

ExposeMeta tcp(uint16_t port) { return {port, "tcp", {"tcp"}}; }
ExposeMeta udp(uint16_t port) { return {port, "udp", {"udp"}}; }
ExposeMeta dns(uint16_t port) { return {port, "dns", {"tcp", "udp"}}; }
ExposeMeta http(uint16_t port) { return {port, "http", {"tcp"}}; }

// Namespaces as sources get them: "aaa…" sorts before "zzz…".
const InstanceId early{"aaaaaaaaaaaaaa", "web"};
const InstanceId late{"zzzzzzzzzzzzzz", "web"};

TEST(PortClaims, AFreePortGoesToItsFirstClaimant) {
  auto c = claim_ports({}, Routed{{late, Exposes{{"ssh", tcp(2222)}}}});
  EXPECT_TRUE(c.conflicts.empty());
  EXPECT_TRUE(c.refused.empty());
  EXPECT_EQ(c.holders, (std::map<PublicPort, InstanceId>{{{"tcp", 2222}, late}}));
}

// The defect: ownership followed namespace order, so a newcomer whose namespace sorts first
// took the port from the instance already serving it. Both orders are checked.
TEST(PortClaims, TheHolderKeepsItsPortWhateverTheNamespaceOrder) {
  for (const auto& [holder, newcomer] : {std::pair{late, early}, std::pair{early, late}}) {
    SCOPED_TRACE(holder.ns);
    std::map<PublicPort, InstanceId> held{{{"tcp", 2222}, holder}};
    auto c = claim_ports(held, Routed{{holder, Exposes{{"ssh", tcp(2222)}}}, {newcomer, Exposes{{"ssh", tcp(2222)}}}});
    EXPECT_EQ(c.holders, held);
    EXPECT_EQ(c.refused, (std::map<InstanceId, std::set<std::string>>{{newcomer, {"ssh"}}}));
    ASSERT_EQ(c.conflicts.size(), 1u);
    EXPECT_EQ(c.conflicts[0].id, newcomer);
    EXPECT_EQ(c.conflicts[0].holder, holder);
    EXPECT_EQ(c.conflicts[0].port, (PublicPort{"tcp", 2222}));
  }
}

TEST(PortClaims, AHolderThatIsNotRoutedKeepsItsPort) {
  // The holder is restarting, failed, or not adopted yet: nobody else gets its port meanwhile.
  std::map<PublicPort, InstanceId> held{{{"udp", 5000}, late}};
  auto c = claim_ports(held, Routed{{early, Exposes{{"game", udp(5000)}}}});
  EXPECT_EQ(c.holders, held);
  EXPECT_EQ(c.refused.count(early), 1u);
}

TEST(PortClaims, APortIsGivenUpWhenTheRoutedGenerationNoLongerExposesIt) {
  std::map<PublicPort, InstanceId> held{{{"tcp", 2222}, late}};
  // `late` dropped the expose in the same push that `early` asks for it: early gets it.
  auto c = claim_ports(held, Routed{{early, Exposes{{"ssh", tcp(2222)}}}, {late, Exposes{{"web", http(80)}}}});
  EXPECT_TRUE(c.conflicts.empty());
  EXPECT_EQ(c.holders, (std::map<PublicPort, InstanceId>{{{"tcp", 2222}, early}}));
}

TEST(PortClaims, ATransportOfADnsExposeTakenRefusesTheWholeEntry) {
  std::map<PublicPort, InstanceId> held{{{"udp", 53}, late}};
  auto c = claim_ports(held, Routed{{early, Exposes{{"dns", dns(53)}, {"other", tcp(2222)}}}});
  EXPECT_EQ(c.refused[early], (std::set<std::string>{"dns"}));
  EXPECT_EQ(c.holders.count({"tcp", 53}), 0u) << "half of a dns expose is not taken";
  EXPECT_EQ(c.holders.at({"tcp", 2222}), early) << "its other entries are unaffected";
  ASSERT_EQ(c.conflicts.size(), 1u);
  EXPECT_EQ(c.conflicts[0].port, (PublicPort{"udp", 53}));
  // The same port on another transport is another port.
  auto u = claim_ports(held, Routed{{early, Exposes{{"t", tcp(53)}}}});
  EXPECT_TRUE(u.conflicts.empty());
}

TEST(PortClaims, IngressExposesClaimNothing) {
  auto c = claim_ports({}, Routed{{early, Exposes{{"web", http(80)}}}, {late, Exposes{{"web", http(80)}}}});
  EXPECT_TRUE(c.holders.empty());
  EXPECT_TRUE(c.conflicts.empty());
}

TEST(PortClaims, NewcomersInOneRoundAreServedInIdOrder) {
  auto c = claim_ports({}, Routed{{late, Exposes{{"ssh", tcp(22)}}}, {early, Exposes{{"ssh", tcp(22)}}}});
  EXPECT_EQ(c.holders.at({"tcp", 22}), early);
  EXPECT_EQ(c.refused.count(late), 1u);
}

TEST(PortClaims, TheMessageNamesThePortButNeverAnotherTenant) {
  PortConflict other{early, "ssh", "tcp", {"tcp", 2222}, late};
  const std::string m = conflict_message(other);
  EXPECT_THAT(m, HasSubstr("2222/tcp"));
  EXPECT_THAT(m, HasSubstr("seed.expose.ssh"));
  EXPECT_THAT(m, HasSubstr("another tenant"));
  EXPECT_THAT(m, Not(HasSubstr(late.ns)));
  // Within one flake the tenant knows its own instances: naming it helps.
  PortConflict mine{{early.ns, "api"}, "ssh", "tcp", {"tcp", 2222}, early};
  EXPECT_THAT(conflict_message(mine), HasSubstr("instance web of this flake"));
}

}  // namespace
}  // namespace seed::reconcile
