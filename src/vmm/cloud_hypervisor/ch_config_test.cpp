// Golden tests: each VmConfig section builder against testdata/config/<section>.json.
// To change a section on purpose, edit its golden file in the same commit.
#include "vmm/cloud_hypervisor/ch_config.hpp"

#include <gtest/gtest.h>

#include "vmm/cloud_hypervisor/testing/ch_test_util.hpp"

namespace seed::vmm::ch {
namespace {

using nlohmann::json;
using testing::describe_json_diff;
using testing::golden_paths;
using testing::golden_spec;
using testing::read_testdata;

::testing::AssertionResult matches_golden(const std::string& file, const json& actual) {
  json expected = json::parse(read_testdata("config/" + file));
  if (expected == actual) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "differs from testdata/config/" << file << ":\n"
                                       << describe_json_diff(expected, actual)
                                       << "built: " << actual.dump(2);
}

TEST(ChConfig, PayloadGolden) { EXPECT_TRUE(matches_golden("payload.json", payload_config(golden_spec()))); }

TEST(ChConfig, PayloadLeavesOutEmptyInitrdAndCmdline) {
  VmSpec spec = golden_spec();
  spec.initrd.clear();
  spec.cmdline.clear();
  EXPECT_EQ(payload_config(spec), json({{"kernel", spec.kernel}}));
}

TEST(ChConfig, CpusGolden) { EXPECT_TRUE(matches_golden("cpus.json", cpus_config(golden_spec()))); }

TEST(ChConfig, MemoryIsSharedWithShares) {
  EXPECT_TRUE(matches_golden("memory.json", memory_config(golden_spec())));
}

TEST(ChConfig, MemoryIsPrivateWithoutShares) {
  VmSpec spec = golden_spec();
  spec.shares.clear();
  EXPECT_TRUE(matches_golden("memory_no_shares.json", memory_config(spec)));
}

// A shoot template boots without shares and gets them by vm.add-fs in each clone, which CH
// refuses unless guest memory is shared.
TEST(ChConfig, MemoryIsSharedForHotplugWithoutShares) {
  VmSpec spec = golden_spec();
  spec.shares.clear();
  spec.hotplug_slots = 4;
  EXPECT_TRUE(memory_config(spec).at("shared").get<bool>());
}

TEST(ChConfig, FsGolden) {
  auto fs = fs_config(golden_spec(), golden_paths());
  ASSERT_TRUE(fs.has_value());
  EXPECT_TRUE(matches_golden("fs.json", *fs));
}

TEST(ChConfig, FsAbsentWithoutShares) {
  VmSpec spec = golden_spec();
  spec.shares.clear();
  EXPECT_FALSE(fs_config(spec, golden_paths()).has_value());
}

TEST(ChConfig, FsDeviceIsTheAddFsBody) {
  FsShare share{"extra", "/srv/extra", false};
  EXPECT_EQ(fs_device_config(share, "/run/seed/vm/web/fs-extra.sock"),
            json({{"id", "fs-extra"},
                  {"tag", "extra"},
                  {"socket", "/run/seed/vm/web/fs-extra.sock"},
                  {"num_queues", 1},
                  {"queue_size", 1024}}));
}

TEST(ChConfig, NetGolden) {
  auto net = net_config(golden_spec());
  ASSERT_TRUE(net.has_value());
  EXPECT_TRUE(matches_golden("net.json", *net));
}

TEST(ChConfig, NetNeverSetsHostAddress) {
  // Older CH releases default ip to 192.168.249.1; we rely on them not re-addressing an
  // existing tap, and never send ip/mask ourselves.
  const auto net = net_config(golden_spec());
  ASSERT_TRUE(net.has_value());
  for (const auto& dev : *net) {
    EXPECT_FALSE(dev.contains("ip"));
    EXPECT_FALSE(dev.contains("mask"));
  }
}

TEST(ChConfig, TpmGolden) {
  auto tpm = tpm_config(golden_spec());
  ASSERT_TRUE(tpm.has_value());
  EXPECT_TRUE(matches_golden("tpm.json", *tpm));
}

TEST(ChConfig, TpmAbsentWithoutSocket) {
  VmSpec spec = golden_spec();
  spec.tpm_socket.clear();
  EXPECT_FALSE(tpm_config(spec).has_value());
}

TEST(ChConfig, SerialGolden) { EXPECT_TRUE(matches_golden("serial.json", serial_config(golden_paths()))); }

TEST(ChConfig, ConsoleGolden) { EXPECT_TRUE(matches_golden("console.json", console_config(golden_paths()))); }

TEST(ChConfig, VmConfigGolden) {
  EXPECT_TRUE(matches_golden("vm_config.json", vm_config(golden_spec(), golden_paths())));
}

TEST(ChConfig, VmConfigMinimalGolden) {
  VmSpec spec = golden_spec();
  spec.vcpus = 1;
  spec.memory_mib = 256;
  spec.initrd.clear();
  spec.cmdline.clear();
  spec.shares.clear();
  spec.nets.clear();
  spec.tpm_socket.clear();
  EXPECT_TRUE(matches_golden("vm_config_minimal.json", vm_config(spec, golden_paths())));
}

TEST(ChConfig, VmConfigIsComposedOfTheSections) {
  // Guards the composition itself: each key is exactly its builder's output.
  const VmSpec spec = golden_spec();
  const VmPaths paths = golden_paths();
  json doc = vm_config(spec, paths);
  EXPECT_EQ(doc.at("payload"), payload_config(spec));
  EXPECT_EQ(doc.at("cpus"), cpus_config(spec));
  EXPECT_EQ(doc.at("memory"), memory_config(spec));
  EXPECT_EQ(doc.at("fs"), *fs_config(spec, paths));
  EXPECT_EQ(doc.at("net"), *net_config(spec));
  EXPECT_EQ(doc.at("tpm"), *tpm_config(spec));
  EXPECT_EQ(doc.at("serial"), serial_config(paths));
  EXPECT_EQ(doc.at("console"), console_config(paths));
  EXPECT_EQ(doc.size(), 8u);
}

TEST(ChConfig, GoldenDiffIsReadable) {
  json expected = {{"memory", {{"size", 1}, {"shared", true}}}};
  json actual = {{"memory", {{"size", 1}, {"shared", false}}}, {"extra", 1}};
  EXPECT_EQ(describe_json_diff(expected, actual),
            "at /memory/shared: expected true, got false\nat /extra: unexpected 1\n");
}

}  // namespace
}  // namespace seed::vmm::ch
