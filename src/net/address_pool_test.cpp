#include "net/address_pool.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"
#include "net/address_store.hpp"

namespace seed::net {
namespace {

PoolConfig config(const std::string& subnet, const std::string& gw = "",
                  const std::string& v6 = "") {
  auto c = make_pool_config(subnet, gw, v6);
  if (!c) throw std::runtime_error(c.error().describe());
  return *c;
}

TEST(PoolConfig, DefaultsGatewayAndRejectsBadSubnets) {
  auto c = config("10.88.0.0/24");
  EXPECT_EQ(c.gateway.str(), "10.88.0.1");
  EXPECT_FALSE(c.subnet6);
  auto small = make_pool_config("10.88.0.0/31", "", "");
  ASSERT_FALSE(small);
  EXPECT_NE(small.error().message.find("too small"), std::string::npos);
  EXPECT_FALSE(make_pool_config("10.88.0.4/32", "", ""));
  auto outside = make_pool_config("10.88.0.0/24", "10.99.0.1", "");
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().message.find("not a host address in 10.88.0.0/24"), std::string::npos);
  EXPECT_FALSE(make_pool_config("10.88.0.0/24", "10.88.0.0", ""));
  EXPECT_FALSE(make_pool_config("10.88.0.0/24", "10.88.0.255", ""));
  EXPECT_FALSE(make_pool_config("10.88.0.0/24", "", "fd00::/121"));  // 7 host bits < 8
  auto v6 = config("10.88.0.0/24", "10.88.0.254", "fd00::/120");
  EXPECT_EQ(v6.gateway6->str(), "fd00::fe");
}

TEST(AddressPool, AllocatesLowestFreeSkippingGatewayAndIsStable) {
  auto pool = *AddressPool::create(config("10.88.0.0/24", "10.88.0.2", "fd00::/64"));
  auto a = pool.allocate({"alpha", "a"});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ipv4.str(), "10.88.0.1");
  EXPECT_EQ(a->ipv6->str(), "fd00::1");
  EXPECT_EQ(pool.allocate({"alpha", "b"})->ipv4.str(), "10.88.0.3");  // .2 is the gateway
  EXPECT_EQ(pool.allocate({"alpha", "a"})->ipv4.str(), "10.88.0.1");  // same again
  EXPECT_TRUE(pool.release({"alpha", "a"}));
  EXPECT_FALSE(pool.release({"alpha", "a"}));
  EXPECT_EQ(pool.allocate({"beta", "c"})->ipv4.str(), "10.88.0.1");  // the freed one
  EXPECT_EQ(pool.find({"alpha", "b"})->ipv4.str(), "10.88.0.3");
  EXPECT_FALSE(pool.find({"alpha", "a"}));
}

TEST(AddressPool, ExhaustionIsAClearError) {
  auto pool = *AddressPool::create(config("10.88.0.0/29"));  // .1 gateway, .2-.6 instances
  EXPECT_EQ(pool.capacity(), 5u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool.allocate({"ns", "i" + std::to_string(i)}));
  auto full = pool.allocate({"ns", "late"});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Errc::unavailable);
  EXPECT_NE(full.error().message.find("all 5 instance addresses of 10.88.0.0/29 are taken"),
            std::string::npos);
  // An existing holder still gets its address back while the pool is full.
  EXPECT_EQ(pool.allocate({"ns", "i4"})->ipv4.str(), "10.88.0.6");
}

TEST(AddressPool, RejectsStateThatDoesNotFitTheConfiguration) {
  std::map<InstanceId, Assignment> outside{{{"ns", "a"}, {Ipv4{0x0a630005}, std::nullopt}}};
  auto r = AddressPool::create(config("10.88.0.0/24"), outside);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("10.99.0.5"), std::string::npos);
  EXPECT_NE(r.error().message.find("not an instance address in the configured subnet"),
            std::string::npos);
  std::map<InstanceId, Assignment> gw{{{"ns", "a"}, {Ipv4{0x0a580001}, std::nullopt}}};
  EXPECT_FALSE(AddressPool::create(config("10.88.0.0/24"), gw));
  std::map<InstanceId, Assignment> dup{{{"ns", "a"}, {Ipv4{0x0a580005}, std::nullopt}},
                                       {{"ns", "b"}, {Ipv4{0x0a580005}, std::nullopt}}};
  auto d = AddressPool::create(config("10.88.0.0/24"), dup);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("both hold 10.88.0.5"), std::string::npos);
}

TEST(AddressStore, PersistsAcrossReopenAndReleasesOnlyExplicitly) {
  testing::TempDir dir;
  std::string path = dir.path() + "/addresses.json";
  {
    auto s = AddressStore::open(path, config("10.88.0.0/24", "", "fd00::/64"));
    ASSERT_TRUE(s) << s.error().describe();
    ASSERT_TRUE(s->allocate({"alpha", "a"}));
    ASSERT_TRUE(s->allocate({"alpha", "b"}));
    ASSERT_TRUE(s->allocate({"beta", "c"}));
    ASSERT_TRUE(s->release({"alpha", "a"}));
  }
  auto s = AddressStore::open(path, config("10.88.0.0/24", "", "fd00::/64"));
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_FALSE(s->find({"alpha", "a"}));
  EXPECT_EQ(s->find({"alpha", "b"})->ipv4.str(), "10.88.0.3");
  EXPECT_EQ(s->find({"beta", "c"})->ipv6->str(), "fd00::4");
  EXPECT_EQ(s->allocate({"gamma", "d"})->ipv4.str(), "10.88.0.2");
  auto text = read_file(path);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("\"gamma\""), std::string::npos);
  // No temporary sibling is left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(AddressStore, BadStateFileIsOneClearErrorAndIsNotOverwritten) {
  testing::TempDir dir;
  std::string path = dir.path() + "/addresses.json";
  const std::string bad =
      R"({"version": 1, "instances": [{"namespace": "a", "name": "b", "ipv4": "10.7.0.9"}]})";
  ASSERT_TRUE(write_file_atomic(path, bad));
  auto s = AddressStore::open(path, config("10.88.0.0/24"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().get("file").value_or(""), path);
  EXPECT_NE(s.error().message.find("restore the previous network.subnet"), std::string::npos);
  EXPECT_EQ(*read_file(path), bad);
  ASSERT_TRUE(write_file_atomic(path, R"({"version": 1, "instances": [{"namespace": "a"}]})"));
  EXPECT_FALSE(AddressStore::open(path, config("10.88.0.0/24")));
  ASSERT_TRUE(write_file_atomic(path, R"({"version": 1, "instancez": []})"));
  EXPECT_FALSE(AddressStore::open(path, config("10.88.0.0/24")));
}

TEST(AddressStore, FailedWriteLeavesMemoryUnchanged) {
  testing::TempDir dir;
  std::string sub = dir.path() + "/state";
  std::filesystem::create_directory(sub);
  auto s = AddressStore::open(sub + "/addresses.json", config("10.88.0.0/24"));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->allocate({"alpha", "a"}));
  std::filesystem::remove_all(sub);  // the next write has nowhere to go
  auto r = s->allocate({"alpha", "b"});
  ASSERT_FALSE(r);
  EXPECT_FALSE(s->find({"alpha", "b"}));
  EXPECT_FALSE(s->release({"alpha", "a"}));
  EXPECT_TRUE(s->find({"alpha", "a"}));
}

}  // namespace
}  // namespace seed::net
