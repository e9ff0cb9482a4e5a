// A real QEMU q35 guest (TCG) with the instance's vTPM attached: the guest kernel finds a TPM
// 2.0 (/dev/tpm0) through the swtpm control socket TpmManager hands out, the swtpm ends with
// the VM, and the TPM's identity survives the guest's use of it.
#include <gtest/gtest.h>

#include <chrono>

#include "tpm/tpm_manager.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed {
namespace {

using namespace std::chrono_literals;
using vmm::testing::VmTest;

class TpmVmTest : public VmTest {
 protected:
  tpm::TpmSettings tpm_settings() const {
    return {path("tpm/state"), path("tpm/run"), path("tpm/ca")};
  }
};

TEST_F(TpmVmTest, Q35GuestSeesTpm0AndSwtpmEndsWithTheVm) {
  if (!find_executable("swtpm")) GTEST_SKIP() << "SKIPPED: swtpm is not installed";
  tpm::TpmManager tpms(tpm_settings());
  auto vtpm = tpms.start("team.web");
  ASSERT_TRUE(vtpm.ok()) << vtpm.error().describe();
  std::string fingerprint = vtpm->health().ek_fingerprint;

  auto spec = guest_spec("tpm", "seed.tpmcheck=1");
  spec.tpm_socket = vtpm->ctrl_socket();
  auto vm = runner_->start(spec);
  if (!vm) vtpm->stop();
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  EXPECT_TRUE(wait_console(**vm, "SEED-GUEST-TPM present", 120s));
  EXPECT_TRUE(wait_console(**vm, "SEED-GUEST-READY", 60s));
  // While the VM runs, nobody else may touch the TPM's state.
  EXPECT_EQ(tpms.check("team.web").error().code, Errc::in_use);
  auto stopped = (*vm)->stop(30s);
  EXPECT_TRUE(stopped.ok()) << stopped.error().describe();
  // The VM's swtpm exits by itself once its VMM has disconnected.
  auto ended = vtpm->process().wait(10s);
  EXPECT_TRUE(ended.ok()) << "swtpm outlived its VM";
  vtpm->stop();

  auto again = tpms.start("team.web");
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(again->health().ek_fingerprint, fingerprint);
  again->stop();
}

TEST_F(TpmVmTest, GuestWithoutTpmReportsItAbsent) {
  auto vm = runner_->start(guest_spec("notpm", "seed.tpmcheck=1"));
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  EXPECT_TRUE(wait_console(**vm, "SEED-GUEST-TPM absent", 120s));
  EXPECT_TRUE((*vm)->stop(30s).ok());
}

}  // namespace
}  // namespace seed
