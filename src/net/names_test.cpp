#include "net/names.hpp"

#include <gtest/gtest.h>

#include <set>

namespace seed::net {
namespace {

TEST(TapName, IsDeterministicShortAndPrefixed) {
  auto a = tap_name({"alpha", "web"});
  ASSERT_TRUE(a) << a.error().describe();
  EXPECT_EQ(a->size(), 15u);  // IFNAMSIZ - 1
  EXPECT_EQ(a->rfind("sd", 0), 0u);
  EXPECT_EQ(*a, *tap_name({"alpha", "web"}));
  for (char c : a->substr(2)) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << c;
}

TEST(TapName, DiffersWhenEitherPartDiffers) {
  EXPECT_NE(*tap_name({"alpha", "web"}), *tap_name({"alpha", "api"}));
  EXPECT_NE(*tap_name({"alpha", "web"}), *tap_name({"beta", "web"}));
  // The split point is part of the identity: "a-b"/"c" is not "a"/"b-c".
  EXPECT_NE(*tap_name({"a-b", "c"}), *tap_name({"a", "b-c"}));
}

TEST(TapName, NoCollisionsAcrossManyIdentities) {
  std::set<std::string> seen;
  for (int ns = 0; ns < 50; ++ns) {
    for (int i = 0; i < 200; ++i) {
      auto t = tap_name({"ns" + std::to_string(ns), "i" + std::to_string(i)});
      ASSERT_TRUE(t);
      EXPECT_TRUE(seen.insert(*t).second) << *t;
    }
  }
}

TEST(TapName, RejectsNamesThatCannotFormAnInterface) {
  for (InstanceId bad : {InstanceId{"", "web"}, InstanceId{"alpha", ""},
                         InstanceId{"Alpha", "web"}, InstanceId{"alpha", "web_1"},
                         InstanceId{"alpha", "-web"}, InstanceId{"alpha", "web-"},
                         InstanceId{"alpha", "a/b"}, InstanceId{"al pha", "web"},
                         InstanceId{"alpha", std::string(64, 'a')}}) {
    auto t = tap_name(bad);
    ASSERT_FALSE(t) << bad.str();
    EXPECT_EQ(t.error().code, Errc::invalid_argument);
    EXPECT_NE(t.error().message.find("cannot name a network device"), std::string::npos);
    EXPECT_EQ(t.error().get("instance").value_or(""), bad.str());
  }
  EXPECT_TRUE(tap_name({"alpha", std::string(63, 'a')}));
}

TEST(InstanceMac, IsLocallyAdministeredUnicastAndStable) {
  std::set<Mac> seen;
  for (int i = 0; i < 2000; ++i) {
    auto m = instance_mac({"alpha", "i" + std::to_string(i)});
    ASSERT_TRUE(m);
    EXPECT_EQ(m->bytes[0] & 0x01, 0) << m->str();  // unicast
    EXPECT_EQ(m->bytes[0] & 0x02, 0x02) << m->str();  // locally administered
    EXPECT_TRUE(seen.insert(*m).second) << m->str();
  }
  EXPECT_EQ(*instance_mac({"alpha", "web"}), *instance_mac({"alpha", "web"}));
  EXPECT_NE(*instance_mac({"alpha", "web"}), *instance_mac({"beta", "web"}));
  EXPECT_FALSE(instance_mac({"alpha", "Web"}));
}

// The host-side addresses are unicast, locally administered, distinct, and never a guest's.
TEST(InstanceMac, NeverEqualsTheTapOrBridgeMac) {
  for (const Mac& m : {tap_mac(), bridge_mac()}) {
    EXPECT_EQ(m.bytes[0] & 0x03, 0x02) << m.str();
  }
  EXPECT_NE(tap_mac(), bridge_mac());
  for (int i = 0; i < 2000; ++i) {
    auto m = instance_mac({"alpha", "i" + std::to_string(i)});
    ASSERT_TRUE(m);
    EXPECT_NE(*m, tap_mac());
    EXPECT_NE(*m, bridge_mac());
  }
}

TEST(Mac, ParsesAndPrintsCanonically) {
  auto m = parse_mac("02:AB:cd:00:10:ff", "mac");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->str(), "02:ab:cd:00:10:ff");
  EXPECT_EQ(parse_mac(m->str(), "mac")->bytes, m->bytes);
  for (const char* bad : {"", "02:ab:cd:00:10", "02:ab:cd:00:10:ff:00", "02-ab-cd-00-10-ff",
                          "0g:ab:cd:00:10:ff", "02:ab:cd:00:10:f\""}) {
    EXPECT_FALSE(parse_mac(bad, "mac")) << bad;
  }
}

TEST(Ifname, AcceptsLinuxNamesAndRejectsUnsafeOnes) {
  EXPECT_TRUE(validate_ifname("seed0", "b"));
  EXPECT_TRUE(validate_ifname("br-lan.10", "b"));
  EXPECT_TRUE(validate_ifname(std::string(15, 'x'), "b"));
  for (std::string bad : {std::string(), std::string(16, 'x'), std::string("a/b"),
                          std::string("a b"), std::string("."), std::string(".."),
                          std::string("x\"; flush ruleset")}) {
    EXPECT_FALSE(validate_ifname(bad, "b")) << bad;
  }
}

}  // namespace
}  // namespace seed::net
