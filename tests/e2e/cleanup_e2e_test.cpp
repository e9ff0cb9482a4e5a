// What an instance leaves on the node once it is gone: nothing but its volumes and TPM state.
// Real nix, QEMU guests, links and nftables in the test's network namespace.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/fd.hpp"
#include "engine_fixture.hpp"
#include "net/names.hpp"
#include "reconcile/service_json.hpp"
#include "reconcile/slot_names.hpp"
#include "reconcile/slot_record.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

class CleanupTest : public EngineTest {
 protected:
  std::string tap_of(const reconcile::InstanceId& id, char letter) {
    auto tap = net::tap_name(reconcile::slot_net_id(id, letter));
    EXPECT_TRUE(tap) << tap.error().describe();
    return tap ? *tap : "";
  }
  bool link_exists(const std::string& name) {
    return netns_->ip({"-o", "link", "show"}).find(" " + name + ":") != std::string::npos;
  }
  std::string bridge_table() { return netns_->exec({"nft", "list", "table", "bridge", "seed"}); }
  std::string addresses() {
    auto text = read_file(root() + "/state/addresses.json");
    return text ? *text : "";
  }
  // Files under `dir` (recursively) whose name starts with `prefix`.
  std::vector<std::string> files_named(const std::string& dir, const std::string& prefix) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it) {
      if (it->path().filename().string().rfind(prefix, 0) == 0) out.push_back(it->path());
    }
    return out;
  }
};

// The instance's first generation never becomes healthy, so no VM of it is left running; its
// tap and address used to outlive an unplant (the planner removed a tap only with slots).
TEST_F(CleanupTest, UnplantingAnInstanceThatNeverRanLeavesNoTapAddressChainRootOrShare) {
  open_engine();
  const std::string uri = write_flake(web_flake(R"(health = { path = "/no-such-page"; timeout = 15; };)"));
  in_ns([&] { (void)engine_->plant(uri, "test", nullptr); });
  const auto web = in_ns([&] { return instance(uri, "web"); });
  ASSERT_TRUE(web.failure) << reconcile::to_json(web).dump();
  EXPECT_EQ(web.failure->stage, "health");
  EXPECT_TRUE(web.generation.empty()) << "nothing of it runs";
  const std::string tap = tap_of(web.id, 'a');
  EXPECT_TRUE(link_exists(tap)) << "the failed deploy made its tap (the case under test)";

  in_ns([&] { ASSERT_TRUE(engine_->unplant(uri)); });
  EXPECT_FALSE(link_exists(tap)) << "its tap is left";
  EXPECT_FALSE(link_exists(tap_of(web.id, 'b')));
  EXPECT_THAT(addresses(), Not(HasSubstr(web.id.ns))) << "its address is still allocated";
  EXPECT_THAT(bridge_table(), Not(HasSubstr(tap)));
  EXPECT_THAT(files_named(root() + "/state/gcroots", ""), ::testing::IsEmpty());
  EXPECT_THAT(files_named(reconcile::instance_dir(config_.runtime_dir, web.id), "seed-"), ::testing::IsEmpty());

  // After a restart of seedd too: the address pool, not memory, says which taps exist.
  ASSERT_TRUE(engine_->quarantine_clear(std::nullopt));  // or the same closure is not tried again
  in_ns([&] { (void)engine_->plant(uri, "test", nullptr); });
  EXPECT_TRUE(link_exists(tap));
  close_engine();
  open_engine();
  in_ns([&] { ASSERT_TRUE(engine_->unplant(uri)); });
  EXPECT_FALSE(link_exists(tap));
  EXPECT_THAT(addresses(), Not(HasSubstr(web.id.ns)));
}

// A rolling deploy moves the instance to its other slot; the stopped slot's firewall chain
// used to stay until the next route change.
TEST_F(CleanupTest, ARollingDeployRemovesTheStoppedSlotsChain) {
  open_engine();
  const std::string uri = write_flake(web_flake(R"(rollout = "rolling";)"));
  in_ns([&] { ASSERT_TRUE(engine_->plant(uri, "test", nullptr)); });
  const auto web = in_ns([&] { return instance(uri, "web"); });
  const std::string tap_a = tap_of(web.id, 'a');
  const std::string tap_b = tap_of(web.id, 'b');
  EXPECT_THAT(bridge_table(), HasSubstr("port_" + tap_a));

  write_flake(web_flake(R"(rollout = "rolling";)", "seed.debug=0"));
  in_ns([&] { ASSERT_TRUE(engine_->plant(uri, "test", nullptr)); });
  const auto rolled = in_ns([&] { return instance(uri, "web"); });
  ASSERT_EQ(rolled.state, reconcile::InstanceState::running);
  ASSERT_NE(rolled.generation, web.generation);
  std::string table = bridge_table();
  EXPECT_THAT(table, HasSubstr("port_" + tap_b)) << "the new slot runs on b";
  EXPECT_THAT(table, Not(HasSubstr("port_" + tap_a))) << "the stopped slot's chain is left:\n" << table;

  in_ns([&] { ASSERT_TRUE(engine_->unplant(uri)); });
  table = bridge_table();
  EXPECT_THAT(table, Not(HasSubstr(tap_a)));
  EXPECT_THAT(table, Not(HasSubstr(tap_b)));
  EXPECT_FALSE(link_exists(tap_a));
  EXPECT_FALSE(link_exists(tap_b));
  EXPECT_THAT(addresses(), Not(HasSubstr(web.id.ns)));
  EXPECT_THAT(files_named(root() + "/state/gcroots", ""), ::testing::IsEmpty());
  EXPECT_THAT(files_named(reconcile::instance_dir(config_.runtime_dir, web.id), "seed-"), ::testing::IsEmpty());
}

}  // namespace
}  // namespace seed::e2e
