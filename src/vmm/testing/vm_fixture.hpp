// Shared by every test that boots the hermetic test guest under real QEMU: a private temp
// root, a runner with the real QEMU driver, and checks that nothing was left behind.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "vmm/driver.hpp"
#include "vmm/vm_runner.hpp"

namespace seed::vmm::testing {

// $SEED_GUEST_DIR (built by tests/guest/build-guest.sh); fails the test if it is missing.
std::string guest_dir();
std::string build_dir();

class VmTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A spec for the test guest with `extra` appended to its kernel command line.
  VmSpec guest_spec(const std::string& name, const std::string& extra = "") const;
  RunnerSettings settings() const;
  // Waits until the console log contains `needle`; returns the whole log so far.
  ::testing::AssertionResult wait_console(const RunningVm& vm, const std::string& needle,
                                          std::chrono::seconds timeout = std::chrono::seconds(60));
  // PIDs of live processes whose command line mentions this test's temp root.
  std::vector<int> stray_processes() const;
  std::string path(const std::string& rel) const { return root_ + "/" + rel; }

  std::string root_;
  std::unique_ptr<Driver> driver_;
  std::unique_ptr<VmRunner> runner_;
};

std::string read_console(const RunningVm& vm);

struct ShellResult {
  int rc = -1;      // -1: the agent did not answer (a test failure is recorded)
  std::string out;  // stdout and stderr, interleaved
};
// Runs `command` with the guest's sh through the agent channel at `agent_socket`
// (VmPaths::agent_socket()).
ShellResult guest_sh(const std::string& agent_socket, const std::string& command);
inline ShellResult guest_sh(RunningVm& vm, const std::string& command) {
  return guest_sh(vm.paths().agent_socket(), command);
}

}  // namespace seed::vmm::testing
