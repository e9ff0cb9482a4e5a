#include "vmm/testing/vm_fixture.hpp"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/fd.hpp"
#include "vmm/agent_client.hpp"
#include "vmm/qemu/qemu_driver.hpp"

namespace seed::vmm::testing {

namespace fs = std::filesystem;

std::string guest_dir() {
  const char* dir = std::getenv("SEED_GUEST_DIR");
  return dir != nullptr ? dir : "build/guest";
}

std::string build_dir() {
  const char* dir = std::getenv("SEED_BUILD_DIR");
  return dir != nullptr ? dir : "build";
}

void VmTest::SetUp() {
  ASSERT_TRUE(fs::exists(guest_dir() + "/kernel"))
      << "the hermetic test guest is missing at " << guest_dir()
      << "; build it with tests/guest/build-guest.sh " << guest_dir();
  char tmpl[] = "/tmp/seed-vmtest-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  root_ = tmpl;
  driver_ = std::make_unique<qemu::QemuDriver>("qemu-system-x86_64", qemu::Accel::tcg);
  runner_ = std::make_unique<VmRunner>(*driver_, settings());
}

void VmTest::TearDown() {
  // Anything still running from this test is a leak: report it, then kill it.
  auto strays = stray_processes();
  EXPECT_TRUE(strays.empty()) << strays.size() << " process(es) left behind, first pid "
                              << (strays.empty() ? 0 : strays[0]);
  for (int pid : strays) ::kill(pid, SIGKILL);
  std::error_code ec;
  if (!root_.empty()) fs::remove_all(root_, ec);
}

RunnerSettings VmTest::settings() const {
  RunnerSettings s;
  s.runtime_dir = root_ + "/run";
  s.state_dir = root_ + "/state";
  s.console_logger_binary = build_dir() + "/src/vmm/seed-console-logger";
  return s;
}

VmSpec VmTest::guest_spec(const std::string& name, const std::string& extra) const {
  VmSpec spec;
  spec.name = name;
  spec.kernel = guest_dir() + "/kernel";
  spec.initrd = guest_dir() + "/initrd";
  auto params = read_file(guest_dir() + "/kernel-params");
  spec.cmdline = params ? *params : "console=ttyS0";
  while (!spec.cmdline.empty() && spec.cmdline.back() == '\n') spec.cmdline.pop_back();
  if (!extra.empty()) spec.cmdline += " " + extra;
  spec.memory_mib = 256;
  return spec;
}

std::string read_console(const RunningVm& vm) {
  auto text = read_file(vm.paths().console_log());
  return text ? *text : "";
}

::testing::AssertionResult VmTest::wait_console(const RunningVm& vm, const std::string& needle,
                                                std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_console(vm).find(needle) != std::string::npos) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ::testing::AssertionFailure() << "'" << needle << "' not on the console within "
                                       << timeout.count() << " s; console:\n"
                                       << read_console(vm);
}

std::vector<int> VmTest::stray_processes() const {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    int pid = std::atoi(name.c_str());
    if (pid == ::getpid()) continue;
    auto cmdline = read_file("/proc/" + name + "/cmdline");
    if (!cmdline || cmdline->find(root_) == std::string::npos) continue;
    auto stat = read_file("/proc/" + name + "/stat");
    if (stat && stat->find(") Z") != std::string::npos) continue;  // zombie: already dead
    pids.push_back(pid);
  }
  return pids;
}

ShellResult guest_sh(const std::string& agent_socket, const std::string& command) {
  auto agent = AgentClient::connect(agent_socket);
  EXPECT_TRUE(agent.ok()) << agent.error().describe();
  if (!agent) return {};
  auto lines = agent->call("sh " + command, std::chrono::seconds(30));
  EXPECT_TRUE(lines.ok()) << lines.error().describe();
  ShellResult r;
  if (!lines) return r;
  for (const auto& l : *lines) {
    if (l.rfind("| ", 0) == 0) r.out += l.substr(2) + "\n";
    else if (l.rfind("rc ", 0) == 0) r.rc = std::stoi(l.substr(3));
  }
  return r;
}

}  // namespace seed::vmm::testing
