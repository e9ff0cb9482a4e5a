// virtio-fs hot-plug into a running QEMU guest (the step a shoot clone takes after its
// restore, since QEMU 7.2 cannot migrate vhost-user-fs devices): real QEMU q35 under TCG, real
// virtiofsd, the real hermetic test guest (PCIe native hot-plug is built into its kernel).
#include <filesystem>
#include <fstream>

#include "vmm/testing/vm_fixture.hpp"
#include "vmm/vm_helpers.hpp"

namespace seed::vmm {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::guest_sh;
using testing::VmTest;

TEST_F(VmTest, VirtioFsSharesHotPlugIntoSpareRootPortsAfterBoot) {
  fs::create_directories(path("rw"));
  fs::create_directories(path("ro"));
  std::ofstream(path("ro/fixed.txt")) << "read-only\n";
  auto spec = guest_spec("hotfs");
  spec.hotplug_slots = 2;
  auto vm = runner_->start(spec);
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  ASSERT_TRUE(wait_console(**vm, "SEED-GUEST-READY"));

  const FsShare rw{"rw", path("rw"), false};
  const FsShare ro{"ro", path("ro"), true};
  const FsShare third{"third", path("rw"), false};
  std::vector<Child> helpers;
  // The virtiofsds are this test's own helpers (vm_runner only starts those of spec.shares):
  // ended even when an assertion returns early.
  struct EndHelpers {
    std::vector<Child>& children;
    ~EndHelpers() {
      for (auto& c : children) c.terminate();
    }
  } end_helpers{helpers};
  for (const auto& share : {rw, ro, third}) {
    auto fsd = start_virtiofsd(settings().virtiofsd_binary, share, (*vm)->paths());
    ASSERT_TRUE(fsd.ok()) << fsd.error().describe();
    helpers.push_back(std::move(*fsd));
  }
  for (const auto& share : {rw, ro}) {
    auto added = (*vm)->control().add_fs(share, (*vm)->paths().fs_socket(share.tag));
    ASSERT_TRUE(added.ok()) << added.error().describe();
  }
  // Two ports, both taken: the third share gets one clear error.
  auto refused = (*vm)->control().add_fs(third, (*vm)->paths().fs_socket(third.tag));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_NE(refused.error().message.find("all 2 spare hot-plug ports are taken"), std::string::npos)
      << refused.error().describe();

  // The guest sees the devices appear (pciehp) and mounts them by tag.
  auto mounted = guest_sh(**vm, hotplugged_mount_command("rw", "/mnt/rw", false) + " && " +
                                    hotplugged_mount_command("ro", "/mnt/ro", true) +
                                    " && echo from-guest > /mnt/rw/out.txt && sync && cat /mnt/ro/fixed.txt");
  EXPECT_EQ(mounted.rc, 0) << mounted.out;
  EXPECT_EQ(mounted.out, "read-only\n");
  auto out = read_file(path("rw/out.txt"));
  ASSERT_TRUE(out.ok()) << "guest write on the hot-plugged share not visible on the host";
  EXPECT_EQ(*out, "from-guest\n");
  // Read-only is enforced by virtiofsd on the host, not by the guest's mount option.
  auto denied = guest_sh(**vm, "mount -o remount,rw /mnt/ro; touch /mnt/ro/intruder");
  EXPECT_NE(denied.rc, 0) << "a read-only hot-plugged share accepted a write";
  EXPECT_FALSE(fs::exists(path("ro/intruder")));

  ASSERT_TRUE((*vm)->stop(20s).ok());
}

}  // namespace
}  // namespace seed::vmm
