// VmRunner reads the driver's capability flags before it spawns anything. The driver here is
// a test double that can do nothing: launch() and connect() fail the test if they are ever
// reached, so the test proves the refusal comes first. It cannot show that a real driver's
// flags are true (ch_driver_test and qemu's tests check those).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"
#include "vmm/vm_runner.hpp"

namespace seed::vmm {
namespace {

using ::testing::HasSubstr;

class IncapableDriver final : public Driver {
 public:
  IncapableDriver() { info_.name = "incapable"; }
  const VmmDriverInfo& info() const override { return info_; }
  Result<LaunchedVmm> launch(const VmSpec&, const VmPaths&, const std::optional<std::string>&) override {
    ADD_FAILURE() << "launch() reached despite a capability the driver lacks";
    return make_error(Errc::internal, "not reachable");
  }
  Result<std::unique_ptr<VmmControl>> connect(const VmPaths&) override {
    ADD_FAILURE() << "connect() reached";
    return make_error(Errc::internal, "not reachable");
  }

 private:
  VmmDriverInfo info_;
};

class VmRunnerCapabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.runtime_dir = dir_.path() + "/run";
    settings_.state_dir = dir_.path() + "/state";
    ASSERT_TRUE(write_file_atomic(dir_.path() + "/kernel", "not really a kernel").ok());
    spec_.name = "web";
    spec_.kernel = dir_.path() + "/kernel";
  }
  seed::testing::TempDir dir_;
  RunnerSettings settings_;
  IncapableDriver driver_;
  VmSpec spec_;
};

TEST_F(VmRunnerCapabilityTest, ATpmTheDriverCannotAttachIsAPrepareErrorWithNothingStarted) {
  spec_.tpm_socket = dir_.path() + "/swtpm.sock";
  VmRunner runner(driver_, settings_);
  auto vm = runner.start(spec_);
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().code, Errc::unavailable);
  EXPECT_EQ(vm.error().get("stage"), "prepare");
  EXPECT_THAT(vm.error().message, HasSubstr("cannot attach a TPM to VM web"));
  EXPECT_FALSE(std::filesystem::exists(settings_.runtime_dir + "/vm/web"));
}

TEST_F(VmRunnerCapabilityTest, ARestoreTheDriverCannotDoIsRefusedBeforeSpawning) {
  const std::string snap = dir_.path() + "/snap";
  std::filesystem::create_directories(snap);
  ASSERT_TRUE(write_file_atomic(snap + "/spec.json", R"({"name": "web", "kernel": ")" + spec_.kernel + R"("})").ok());
  VmRunner runner(driver_, settings_);
  auto vm = runner.restore(snap);
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().code, Errc::unavailable) << vm.error().describe();
  EXPECT_THAT(vm.error().message, HasSubstr("cannot restore VM snapshots"));
}

}  // namespace
}  // namespace seed::vmm
