#include "net/dns/name.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace seed::net::dns {
namespace {

TEST(DnsName, ParsesPresentationFormIntoWireForm) {
  auto n = Name::from_text("Web.team.example.org.");
  ASSERT_TRUE(n.ok()) << n.error().describe();
  std::string wire(reinterpret_cast<const char*>(n->wire().data()), n->wire_size());
  EXPECT_EQ(wire, std::string("\3Web\4team\7example\3org\0", 22));
  EXPECT_EQ(n->to_text(), "Web.team.example.org.");
  EXPECT_EQ(n->key(), std::string("\3web\4team\7example\3org\0", 22));
  EXPECT_EQ(n->label_count(), 4u);
  EXPECT_EQ(n->first_label(), "Web");
  EXPECT_EQ(n->parent().to_text(), "team.example.org.");
}

TEST(DnsName, RootAndTrailingDot) {
  EXPECT_TRUE(Name::from_text(".")->is_root());
  EXPECT_EQ(*Name::from_text("a.b"), *Name::from_text("A.B."));
  EXPECT_TRUE(Name().parent().is_root());
}

TEST(DnsName, RejectsBadNames) {
  for (std::string bad : std::vector<std::string>{"", "a..b", ".a", "a b.c", "bad!.org",
                                                  std::string(64, 'x') + ".org"}) {
    auto n = Name::from_text(bad);
    EXPECT_FALSE(n.ok()) << bad;
    if (!n.ok()) {
      EXPECT_EQ(n.error().code, Errc::invalid_argument);
    }
  }
  // 4 labels of 63 = 4*64 + 1 = 257 bytes: over 255.
  std::string l(63, 'a');
  EXPECT_FALSE(Name::from_text(l + "." + l + "." + l + "." + l).ok());
  // 3*64 + 61+1 + 1 = 255 bytes exactly: allowed.
  EXPECT_TRUE(Name::from_text(l + "." + l + "." + l + "." + std::string(61, 'b')).ok());
}

TEST(DnsName, CaseInsensitiveSubdomainOnLabelBoundaries) {
  auto zone = *Name::from_text("Seed.Example.org");
  EXPECT_TRUE(Name::from_text("web.team.seed.example.ORG")->is_at_or_below(zone));
  EXPECT_TRUE(Name::from_text("seed.example.org")->is_at_or_below(zone));
  EXPECT_FALSE(Name::from_text("xseed.example.org")->is_at_or_below(zone));
  EXPECT_FALSE(Name::from_text("example.org")->is_at_or_below(zone));
  EXPECT_TRUE(Name::from_text("anything")->is_at_or_below(Name()));
}

TEST(DnsName, PrependChecksLength) {
  auto base = *Name::from_text("example.org");
  EXPECT_EQ(base.prepend("www")->to_text(), "www.example.org.");
  EXPECT_FALSE(base.prepend(std::string(64, 'a')).ok());
  std::string l(63, 'a');
  auto big = *Name::from_text(l + "." + l + "." + l);
  EXPECT_TRUE(big.prepend(std::string(61, 'c')).ok());
  EXPECT_FALSE(big.prepend(std::string(62, 'c')).ok());
}

TEST(DnsName, EscapesOddBytesFromTheWire) {
  const uint8_t wire[] = {3, 'a', '.', 0xff, 0};
  EXPECT_EQ(Name::from_wire_unchecked(wire).to_text(), "a\\.\\255.");
}

}  // namespace
}  // namespace seed::net::dns
