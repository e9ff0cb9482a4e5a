#include "net/ruleset.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/fd.hpp"
#include "net/testing/sample_spec.hpp"

namespace seed::net {
namespace {

using testing::sample_instance;
using testing::sample_spec;

// Compares with src/net/testdata/<name>; SEED_UPDATE_GOLDEN=1 rewrites the file instead (then
// review the diff: the golden file is the reviewed ruleset).
void expect_golden(const std::string& name, const std::string& actual) {
  const char* src = std::getenv("SEED_SOURCE_DIR");
  ASSERT_NE(src, nullptr) << "SEED_SOURCE_DIR is not set; run through meson test";
  std::string path = std::string(src) + "/src/net/testdata/" + name;
  if (std::getenv("SEED_UPDATE_GOLDEN")) {
    ASSERT_TRUE(write_file_atomic(path, actual));
    return;
  }
  auto expected = read_file(path);
  ASSERT_TRUE(expected) << expected.error().describe();
  EXPECT_EQ(actual, *expected) << "ruleset differs from " << path;
}

TEST(Ruleset, FullSpecMatchesGolden) {
  auto r = render_ruleset(sample_spec());
  ASSERT_TRUE(r) << r.error().describe();
  expect_golden("ruleset_full.nft", r->text);
  ASSERT_EQ(r->conflicts.size(), 1u);
  EXPECT_EQ(r->conflicts[0].get("instance").value_or(""), "beta/db");
}

TEST(Ruleset, NoInstancesMatchesGolden) {
  FirewallSpec s = sample_spec();
  s.instances.clear();
  s.subnet6.clear();
  s.gateway6.clear();
  s.public_addresses.clear();
  auto r = render_ruleset(s);
  ASSERT_TRUE(r) << r.error().describe();
  expect_golden("ruleset_empty.nft", r->text);
  EXPECT_TRUE(r->conflicts.empty());
}

TEST(Ruleset, ReplacesBothTablesInOneBatch) {
  auto r = render_ruleset(sample_spec());
  ASSERT_TRUE(r);
  // Each table is created-if-missing and deleted before it is defined again, so one batch
  // works whether or not an older ruleset exists.
  auto pos = [&](const std::string& s) { return r->text.find(s); };
  EXPECT_LT(pos("table inet seed\n"), pos("delete table inet seed\n"));
  EXPECT_LT(pos("delete table inet seed\n"), pos("table inet seed {"));
  EXPECT_LT(pos("delete table bridge seed\n"), pos("table bridge seed {"));
  EXPECT_EQ(render_removal().find("table inet seed {"), std::string::npos);
}

TEST(Ruleset, IngressExposesAreNotDnatted) {
  auto r = render_ruleset(sample_spec());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text.find("dport 443"), std::string::npos);
  EXPECT_NE(r->text.find("tcp dport 8080 dnat ip to 10.88.0.2:80"), std::string::npos);
  EXPECT_EQ(r->text.find("dnat ip to 10.88.0.4:80"), std::string::npos);  // db lost 8080
  EXPECT_NE(r->text.find("tcp dport 5432 dnat ip to 10.88.0.4:5432"), std::string::npos);
}

Error render_error(FirewallSpec s) {
  auto r = render_ruleset(s);
  if (r) ADD_FAILURE() << "rendered a bad spec:\n" << r->text;
  return r ? Error{} : r.error();
}

TEST(Ruleset, BadInputIsOneClearError) {
  {
    auto s = sample_spec();
    s.instances[1].ipv4 = "10.99.0.3";
    auto e = render_error(s);
    EXPECT_EQ(e.code, Errc::invalid_argument);
    EXPECT_EQ(e.get("instance").value_or(""), "alpha/api");
    EXPECT_NE(e.message.find("10.99.0.3"), std::string::npos);
    EXPECT_NE(e.message.find("10.88.0.0/24"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.instances[1].ipv4 = "10.88.0.1";  // the gateway
    EXPECT_NE(render_error(s).message.find("gateway"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.instances[1].ipv6 = "fd5e:ee00::3";
    EXPECT_NE(render_error(s).message.find("outside network.subnet6"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.instances[2].ipv4 = "10.88.0.2";
    auto e = render_error(s);
    EXPECT_NE(e.message.find("alpha/web and beta/db have the same ipv4"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.instances[2].tap = s.instances[0].tap;
    EXPECT_NE(render_error(s).message.find("same tap"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.instances[0].tap = "x\" accept #";  // nothing unchecked reaches nft syntax
    EXPECT_NE(render_error(s).message.find("not a usable interface name"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.instances[0].name = "Web";
    EXPECT_NE(render_error(s).message.find("cannot name a network device"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.instances[0].mac = "03:00:00:00:00:01";
    EXPECT_NE(render_error(s).message.find("multicast"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.instances[0].mac = tap_mac().str();
    EXPECT_NE(render_error(s).message.find("host side's own address"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.public_addresses = {};
    EXPECT_NE(render_error(s).message.find("no public address"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.instances[0].exposes[0].public_port = 0;
    EXPECT_NE(render_error(s).message.find("port 0"), std::string::npos);
  }
  {
    auto s = sample_spec();
    s.subnet = "10.88.0.0/33";
    EXPECT_NE(render_error(s).message.find("network.subnet"), std::string::npos);
  }
}

}  // namespace
}  // namespace seed::net
