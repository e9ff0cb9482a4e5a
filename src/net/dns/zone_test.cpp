#include "net/dns/zone_store.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace seed::net::dns {
namespace {

ZoneConfig config() {
  ZoneConfig c;
  c.domain = "seed.test";
  c.nameservers = {{"ns1.seed.test", "192.0.2.53", "2001:db8::53"}, {"ns.other.test", "", ""}};
  return c;
}

TEST(DnsZone, BuildsInstanceNamesAndEmptyNonTerminals) {
  auto z = Zone::build(config(), {{"team", "web", "10.0.0.2", "fd00::2"}, {"team", "api", "10.0.0.3", ""}}, 7);
  ASSERT_TRUE(z.ok()) << z.error().describe();
  const Zone& zone = **z;
  EXPECT_EQ(zone.serial(), 7u);
  const ZoneNode* web = zone.find(*Name::from_text("WEB.team.seed.test"));
  ASSERT_NE(web, nullptr);
  ASSERT_EQ(web->a.size(), 1u);
  EXPECT_EQ(web->a[0], (Ipv4{10, 0, 0, 2}));
  EXPECT_EQ(web->aaaa.size(), 1u);
  EXPECT_EQ(web->ns, "team");
  EXPECT_TRUE(zone.find(*Name::from_text("seed.test"))->apex);
  const ZoneNode* ent = zone.find(*Name::from_text("team.seed.test"));
  ASSERT_NE(ent, nullptr);  // exists, without data: NODATA rather than NXDOMAIN
  EXPECT_TRUE(ent->a.empty());
  EXPECT_EQ(zone.find(*Name::from_text("other.seed.test")), nullptr);
  // In-zone name server has its glue, the out-of-zone one does not exist here.
  EXPECT_EQ(zone.find(*Name::from_text("ns1.seed.test"))->a.size(), 1u);
  EXPECT_EQ(zone.find(*Name::from_text("ns.other.test")), nullptr);
  EXPECT_EQ(zone.nameservers().size(), 2u);
  EXPECT_EQ(zone.hostmaster().to_text(), "hostmaster.seed.test.");
}

// The node's own names (silo., hooks.) answer with the node's addresses and no NS record.
TEST(DnsZone, ServesTheNodesOwnNames) {
  ZoneConfig c = config();
  c.hosts = {{"silo.seed.test", "192.0.2.53", ""}, {"hooks.seed.test", "192.0.2.53", "2001:db8::53"}};
  auto z = Zone::build(c, {{"team", "web", "10.0.0.2", ""}}, 1);
  ASSERT_TRUE(z.ok()) << z.error().describe();
  const ZoneNode* silo = (*z)->find(*Name::from_text("silo.seed.test"));
  ASSERT_NE(silo, nullptr);
  EXPECT_EQ(silo->a, (std::vector<Ipv4>{{192, 0, 2, 53}}));
  EXPECT_TRUE(silo->aaaa.empty());
  EXPECT_EQ((*z)->find(*Name::from_text("hooks.seed.test"))->aaaa.size(), 1u);
  EXPECT_EQ((*z)->nameservers().size(), 2u);
  c.hosts = {{"silo.elsewhere.test", "192.0.2.53", ""}};
  EXPECT_FALSE(Zone::build(c, {}, 1).ok());
}

TEST(DnsZone, RejectsBadEntriesWithoutPartialState) {
  auto bad = [](std::vector<InstanceAddress> list) {
    auto z = Zone::build(config(), list, 1);
    EXPECT_FALSE(z.ok());
    return z.ok() ? Error{} : z.error();
  };
  Error e = bad({{"team", std::string(64, 'a'), "10.0.0.2", ""}});
  EXPECT_EQ(e.code, Errc::invalid_argument);
  EXPECT_NE(e.describe().find("63"), std::string::npos) << e.describe();
  EXPECT_EQ(bad({{"team", "a.b", "10.0.0.2", ""}}).code, Errc::invalid_argument);
  EXPECT_EQ(bad({{"", "web", "10.0.0.2", ""}}).code, Errc::invalid_argument);
  EXPECT_EQ(bad({{"team", "web", "10.0.0.300", ""}}).code, Errc::invalid_argument);
  EXPECT_EQ(bad({{"team", "web", "", "fd00::zz"}}).code, Errc::invalid_argument);
  EXPECT_EQ(bad({{"team", "web", "10.0.0.2", ""}, {"TEAM", "Web", "10.0.0.3", ""}}).code, Errc::conflict);
}

TEST(DnsZone, RejectsBadConfig) {
  ZoneConfig c = config();
  c.nameservers.clear();
  EXPECT_FALSE(Zone::build(c, {}, 1).ok());
  c = config();
  c.domain = "bad..domain";
  EXPECT_FALSE(Zone::build(c, {}, 1).ok());
}

TEST(DnsZoneStore, ReplaceIsAllOrNothingAndBumpsTheSerial) {
  auto store = ZoneStore::create(config());
  ASSERT_TRUE(store.ok()) << store.error().describe();
  ZoneStore& s = **store;
  ASSERT_TRUE(s.replace({{"team", "web", "10.0.0.2", ""}}).ok());
  auto before = s.snapshot();
  EXPECT_FALSE(s.replace({{"team", "ok", "10.0.0.4", ""}, {"team", "bad!", "10.0.0.5", ""}}).ok());
  auto after = s.snapshot();
  EXPECT_EQ(before.zone, after.zone);  // the failed replace published nothing
  EXPECT_NE(after.zone->find(*Name::from_text("web.team.seed.test")), nullptr);
  ASSERT_TRUE(s.replace({}).ok());
  EXPECT_GT(s.snapshot().zone->serial(), before.zone->serial());
  EXPECT_EQ(s.snapshot().zone->find(*Name::from_text("web.team.seed.test")), nullptr);
  // A reader's snapshot stays valid after the store moved on.
  EXPECT_NE(before.zone->find(*Name::from_text("web.team.seed.test")), nullptr);
}

TEST(DnsZoneStore, AcmeChallengesSetAndClear) {
  auto s = std::move(ZoneStore::create(config()).value());
  std::string owner = "_acme-challenge.web.team.seed.test";
  ASSERT_TRUE(s->set_acme_challenge(owner, "token-1").ok());
  ASSERT_TRUE(s->set_acme_challenge(owner, "token-2").ok());
  ASSERT_TRUE(s->set_acme_challenge(owner, "token-1").ok());  // no duplicate
  auto snap = s->snapshot();
  auto key = Name::from_text(owner)->key();
  ASSERT_EQ(snap.acme->txt.count(key), 1u);
  EXPECT_EQ(snap.acme->txt.at(key), (std::vector<std::string>{"token-1", "token-2"}));
  // web.team.seed.test exists because of the challenge even without the instance.
  EXPECT_EQ(snap.acme->ancestors.count(Name::from_text("web.team.seed.test")->key()), 1u);
  ASSERT_TRUE(s->clear_acme_challenge(owner, "token-1").ok());
  EXPECT_EQ(s->snapshot().acme->txt.at(key), (std::vector<std::string>{"token-2"}));
  ASSERT_TRUE(s->clear_acme_challenge(owner).ok());
  EXPECT_EQ(s->snapshot().acme->txt.count(key), 0u);
  EXPECT_TRUE(s->snapshot().acme->ancestors.empty());
  EXPECT_TRUE(s->clear_acme_challenge(owner).ok());  // clearing nothing is fine
}

TEST(DnsZoneStore, AcmeChallengesAreCheckedAndBounded) {
  AcmeLimits limits;
  limits.max_values_per_name = 2;
  limits.max_value_size = 8;
  auto s = std::move(ZoneStore::create(config(), limits).value());
  EXPECT_EQ(s->set_acme_challenge("_acme-challenge.web.other.org", "x").error().code, Errc::invalid_argument);
  EXPECT_EQ(s->set_acme_challenge("web.team.seed.test", "x").error().code, Errc::invalid_argument);
  EXPECT_EQ(s->set_acme_challenge("_acme-challenge.seed.test..", "x").error().code, Errc::invalid_argument);
  EXPECT_FALSE(s->set_acme_challenge("_acme-challenge.a.seed.test", "").ok());
  EXPECT_FALSE(s->set_acme_challenge("_acme-challenge.a.seed.test", "123456789").ok());
  ASSERT_TRUE(s->set_acme_challenge("_acme-challenge.a.seed.test", "1").ok());
  ASSERT_TRUE(s->set_acme_challenge("_acme-challenge.a.seed.test", "2").ok());
  EXPECT_EQ(s->set_acme_challenge("_acme-challenge.a.seed.test", "3").error().code, Errc::unavailable);
}

TEST(DnsZoneStore, ReadersSeeWholeSnapshotsWhileWritersRun) {
  auto s = std::move(ZoneStore::create(config()).value());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    auto a = Name::from_text("a.team.seed.test")->key();
    auto b = Name::from_text("b.team.seed.test")->key();
    while (!done) {
      auto snap = s->snapshot();
      // Every published zone holds either both names or neither.
      if ((snap.zone->find(a) == nullptr) != (snap.zone->find(b) == nullptr)) ++torn;
    }
  });
  for (int i = 0; i < 300; ++i) {
    if (i % 2) {
      ASSERT_TRUE(s->replace({{"team", "a", "10.0.0.1", ""}, {"team", "b", "10.0.0.2", ""}}).ok());
    } else {
      ASSERT_TRUE(s->replace({}).ok());
    }
    ASSERT_TRUE(s->set_acme_challenge("_acme-challenge.a.seed.test", "v" + std::to_string(i % 5)).ok());
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn, 0);
}

}  // namespace
}  // namespace seed::net::dns
