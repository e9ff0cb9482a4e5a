// A snapshot's config.json made the restoring VM's own (golden, in CH's real snapshot layout:
// testdata/snapshot/config.json is VmConfig as serde writes it, vmm/src/vm_config.rs at v53.0,
// the same document as vm.info's "config"), and the per-VM restore directory on a real
// filesystem. What no test here can catch: whether a real CH accepts the rewritten file (none
// runs without KVM); the golden pins only what Seed changes in it.
#include "vmm/cloud_hypervisor/ch_restore.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "vmm/cloud_hypervisor/testing/ch_test_util.hpp"

namespace seed::vmm::ch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::describe_json_diff;
using testing::read_testdata;
using testing::TempDir;

json template_config() { return json::parse(read_testdata("snapshot/config.json")); }

// The clone the golden config_restored.json was written for.
VmSpec clone_spec() {
  VmSpec spec;
  spec.name = "clone-1";
  spec.nets = {{"seedtap-c1", "52:54:00:12:34:56"}};
  spec.tpm_socket = "/run/seed/tpm/clone-1/swtpm-ctrl.sock";
  return spec;
}
VmPaths clone_paths(const std::string& name = "clone-1") {
  return VmPaths::for_vm("/run/seed", "/var/lib/seed", name);
}

TEST(ChRestore, ConfigNamesTheRestoringVmsEndpointsGolden) {
  auto config = config_for_restore(template_config(), clone_spec(), clone_paths());
  ASSERT_TRUE(config) << config.error().describe();
  json expected = json::parse(read_testdata("snapshot/config_restored.json"));
  EXPECT_EQ(*config, expected) << describe_json_diff(expected, *config);
}

TEST(ChRestore, TwoClonesShareNoPathWithTheTemplateOrEachOther) {
  VmSpec spec;  // a shoot template: no NIC, no TPM
  json snapshot = template_config();
  snapshot.erase("net");
  snapshot.erase("tpm");
  auto a = config_for_restore(snapshot, spec, clone_paths("shoot-a"));
  auto b = config_for_restore(snapshot, spec, clone_paths("shoot-b"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)["serial"]["file"], "/run/seed/vm/shoot-a/serial.fifo");
  EXPECT_EQ((*b)["serial"]["file"], "/run/seed/vm/shoot-b/serial.fifo");
  EXPECT_FALSE((*a)["console"].contains("file"));
  EXPECT_EQ((*a)["console"]["mode"], "Pty");
  EXPECT_EQ((*a)["fs"][0]["socket"], "/run/seed/vm/shoot-a/fs-nix-store.sock");
  EXPECT_EQ((*b)["fs"][0]["socket"], "/run/seed/vm/shoot-b/fs-nix-store.sock");
  EXPECT_EQ(a->dump().find("/run/seed/vm/tmpl"), std::string::npos) << a->dump(2);
  // Everything that is not a host endpoint (guest memory size, shared memory for vm.add-fs,
  // the payload) comes through as the template had it.
  EXPECT_EQ((*a)["memory"], snapshot["memory"]);
  EXPECT_EQ((*a)["payload"], snapshot["payload"]);
}

TEST(ChRestore, RefusesASnapshotWhoseDevicesTheVmDoesNotHave) {
  VmSpec spec = clone_spec();
  spec.nets.clear();  // the template's tap cannot be the clone's
  auto config = config_for_restore(template_config(), spec, clone_paths());
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, Errc::invalid_argument);
  EXPECT_EQ(config.error().get("stage"), "restore");
  EXPECT_NE(config.error().message.find("1 network interface(s), the VM has 0"), std::string::npos)
      << config.error().message;

  spec = clone_spec();
  spec.tpm_socket.clear();
  config = config_for_restore(template_config(), spec, clone_paths());
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("TPM"), std::string::npos) << config.error().message;
}

class ChRestoreDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    snapshot_ = tmp_.path() + "/snap";
    fs::create_directories(snapshot_);
    json config = template_config();
    config.erase("net");
    config.erase("tpm");
    ASSERT_TRUE(write_file_atomic(snapshot_ + "/config.json", config.dump(), 0600));
    ASSERT_TRUE(write_file_atomic(snapshot_ + "/state.json", "{\"snapshots\":{}}", 0600));
    ASSERT_TRUE(write_file_atomic(snapshot_ + "/memory-ranges", std::string(4096, 'm'), 0600));
  }
  VmPaths paths(const std::string& name) {
    auto p = VmPaths::for_vm(tmp_.path(), tmp_.path(), name);
    fs::create_directories(p.dir);
    return p;
  }
  TempDir tmp_;
  std::string snapshot_;
};

TEST_F(ChRestoreDirTest, EachCloneGetsItsOwnConfigAndSharesTheRest) {
  auto a = paths("a");
  auto b = paths("b");
  auto dir_a = prepare_restore_dir(snapshot_, VmSpec{}, a);
  auto dir_b = prepare_restore_dir(snapshot_, VmSpec{}, b);
  ASSERT_TRUE(dir_a) << dir_a.error().describe();
  ASSERT_TRUE(dir_b) << dir_b.error().describe();
  EXPECT_EQ(*dir_a, a.dir + "/ch-restore");
  for (const auto& [dir, p] : {std::pair{*dir_a, a}, std::pair{*dir_b, b}}) {
    auto config = json::parse(*read_file(dir + "/config.json"));
    EXPECT_EQ(config["serial"]["file"], p.serial_fifo());
    // Guest memory is not copied: CH reads these through the links.
    EXPECT_TRUE(fs::is_symlink(dir + "/memory-ranges"));
    EXPECT_EQ(fs::read_symlink(dir + "/memory-ranges"), fs::path(snapshot_ + "/memory-ranges"));
    EXPECT_EQ(*read_file(dir + "/state.json"), "{\"snapshots\":{}}");
  }
  // The template's snapshot is only read.
  EXPECT_EQ(json::parse(*read_file(snapshot_ + "/config.json"))["serial"]["file"],
            "/run/seed/vm/tmpl/serial.fifo");
  // A second restore of the same VM replaces the first one's directory.
  ASSERT_TRUE(prepare_restore_dir(snapshot_, VmSpec{}, a));
}

TEST_F(ChRestoreDirTest, ABadSnapshotLeavesNothingBehind) {
  auto a = paths("a");
  ASSERT_TRUE(write_file_atomic(snapshot_ + "/config.json", "not json", 0600));
  auto dir = prepare_restore_dir(snapshot_, VmSpec{}, a);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().get("stage"), "restore");
  EXPECT_EQ(dir.error().get("snapshot"), snapshot_);
  EXPECT_FALSE(fs::exists(restore_dir(a)));

  ASSERT_TRUE(write_file_atomic(snapshot_ + "/config.json", template_config().dump(), 0600));
  ASSERT_TRUE(prepare_restore_dir(snapshot_, clone_spec(), a));  // leaves a good one ...
  dir = prepare_restore_dir(snapshot_, VmSpec{}, a);               // ... then fails
  ASSERT_FALSE(dir);
  EXPECT_FALSE(fs::exists(restore_dir(a)));
}

TEST(ChRestore, OnDemandMemoryWhereTheReleaseHasIt) {
  EXPECT_EQ(restore_config("/s", {51, 2, 0}), json({{"source_url", "file:///s"}}));
  EXPECT_EQ(restore_config("/s", {52, 0, 0}),
            json({{"source_url", "file:///s"}, {"memory_restore_mode", "OnDemand"}}));
}

}  // namespace
}  // namespace seed::vmm::ch
