// Bad input to the VM layer: one clear error naming the file or binary and the stage, and
// nothing left behind (no process, socket, runtime directory).
#include <filesystem>
#include <fstream>

#include "vmm/qemu/qemu_driver.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::vmm {
namespace {

namespace fs = std::filesystem;
using testing::VmTest;

class VmBadInputTest : public VmTest {
 protected:
  void expect_nothing_left(const std::string& name) {
    EXPECT_FALSE(fs::exists(path("run/vm/" + name))) << "runtime directory left behind";
    EXPECT_TRUE(stray_processes().empty()) << "a helper or VMM process was left running";
  }
};

TEST_F(VmBadInputTest, MissingKernelNamesTheFileAndStage) {
  auto spec = guest_spec("nokernel");
  spec.kernel = path("no-such-kernel");
  auto vm = runner_->start(spec);
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().code, Errc::not_found);
  EXPECT_EQ(vm.error().get("stage"), "prepare");
  EXPECT_NE(vm.error().message.find(path("no-such-kernel")), std::string::npos) << vm.error().describe();
  expect_nothing_left("nokernel");
}

TEST_F(VmBadInputTest, MissingShareDirectoryIsRejectedBeforeAnythingStarts) {
  auto spec = guest_spec("noshare");
  spec.shares = {{"data", path("absent"), false}};
  auto vm = runner_->start(spec);
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().get("share"), "data");
  EXPECT_EQ(vm.error().get("stage"), "prepare");
  EXPECT_NE(vm.error().message.find(path("absent")), std::string::npos);
  expect_nothing_left("noshare");
}

TEST_F(VmBadInputTest, SocketPathTooLongForSunPath) {
  auto settings = this->settings();
  settings.runtime_dir = root_ + "/" + std::string(100, 'r');
  VmRunner runner(*driver_, settings);
  auto vm = runner.start(guest_spec("longpath"));
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().code, Errc::invalid_argument);
  EXPECT_EQ(vm.error().get("stage"), "prepare");
  EXPECT_NE(vm.error().message.find("Unix socket"), std::string::npos) << vm.error().describe();
  EXPECT_FALSE(fs::exists(settings.runtime_dir + "/vm/longpath"));
  EXPECT_TRUE(stray_processes().empty());
}

TEST_F(VmBadInputTest, AbsentVmmBinaryNamesItAndCleansUp) {
  qemu::QemuDriver driver(path("bin/qemu-system-x86_64"), qemu::Accel::tcg);
  VmRunner runner(driver, settings());
  auto vm = runner.start(guest_spec("nobinary"));
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().code, Errc::unavailable);
  EXPECT_EQ(vm.error().get("stage"), "spawn");
  EXPECT_NE(vm.error().describe().find(path("bin/qemu-system-x86_64")), std::string::npos)
      << vm.error().describe();
  expect_nothing_left("nobinary");
}

TEST_F(VmBadInputTest, VmmThatExitsAtOnceIsReportedWithItsOutput) {
  fs::create_directories(path("bin"));
  std::ofstream(path("bin/broken-vmm")) << "#!/bin/sh\necho 'broken-vmm: cannot initialise' >&2\nexit 3\n";
  fs::permissions(path("bin/broken-vmm"), fs::perms::owner_all);
  qemu::QemuDriver driver(path("bin/broken-vmm"), qemu::Accel::tcg);
  VmRunner runner(driver, settings());
  auto vm = runner.start(guest_spec("exits"));
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().get("stage"), "spawn");
  EXPECT_NE(vm.error().describe().find("exited with code 3"), std::string::npos) << vm.error().describe();
  EXPECT_NE(vm.error().describe().find("cannot initialise"), std::string::npos) << vm.error().describe();
  expect_nothing_left("exits");
}

TEST_F(VmBadInputTest, StartingASecondVmWithTheSameNameIsRefusedAndTheFirstKeepsRunning) {
  auto first = runner_->start(guest_spec("twice"));
  ASSERT_TRUE(first.ok()) << first.error().describe();
  ASSERT_TRUE(wait_console(**first, "SEED-GUEST-READY"));
  auto second = runner_->start(guest_spec("twice"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::already_exists);
  EXPECT_TRUE((*first)->vmm().running());
  EXPECT_TRUE(fs::exists((*first)->paths().control_socket()));
  ASSERT_TRUE((*first)->stop(std::chrono::seconds(20)).ok());
}

}  // namespace
}  // namespace seed::vmm
