// Boots the hermetic test guest in a real Cloud Hypervisor when this machine can run one:
// cloud-hypervisor installed, the CPU has vmx/svm and /dev/kvm opens. Everywhere else it
// skips, loudly, so a green run on such a machine is never mistaken for a real boot.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/digest.hpp"
#include "vmm/cloud_hypervisor/ch_driver.hpp"
#include "vmm/shoot/shoot_clone.hpp"
#include "vmm/shoot/shoot_template.hpp"
#include "vmm/vm_runner.hpp"
#include "vmm/cloud_hypervisor/testing/ch_test_util.hpp"

namespace seed::vmm::ch {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSkip =
    "cloud-hypervisor not installed / no hardware virtualization: real-CH test not run";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Why this machine cannot run CH, or "" when it can.
std::string missing_prerequisite() {
  if (!find_executable("cloud-hypervisor")) return "no cloud-hypervisor in PATH";
  std::string cpuinfo = read_text("/proc/cpuinfo");
  if (cpuinfo.find(" vmx") == std::string::npos && cpuinfo.find(" svm") == std::string::npos) {
    return "the CPU has neither vmx nor svm";
  }
  int kvm = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) return "/dev/kvm cannot be opened";
  ::close(kvm);
  return "";
}

// Collects what the guest writes to its serial port, as the console logger would.
class SerialReader {
 public:
  explicit SerialReader(const std::string& fifo) {
    ::mkfifo(fifo.c_str(), 0600);
    // Open before CH does: its open for writing blocks until a reader exists.
    fd_ = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    thread_ = std::thread([this] { run(); });
  }
  ~SerialReader() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  bool wait_for(const std::string& needle, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (text().find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  std::string text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  void run() {
    char buf[4096];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, 100);
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) {
        std::lock_guard lock(mutex_);
        text_.append(buf, static_cast<size_t>(n));
      } else {
        std::this_thread::sleep_for(10ms);  // no writer yet, or between writers
      }
    }
  }
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::string text_;
  std::thread thread_;
};

// The test guest's directory, or "" when this machine cannot run CH or has no test guest;
// `skip` then says why.
std::string usable_guest_dir(std::string& skip) {
  if (auto why = missing_prerequisite(); !why.empty()) {
    skip = std::string(kSkip) + " (" + why + ")";
    return "";
  }
  const char* guest = std::getenv("SEED_GUEST_DIR");
  if (guest == nullptr || ::access((std::string(guest) + "/kernel").c_str(), R_OK) != 0) {
    skip = "cloud-hypervisor is usable but SEED_GUEST_DIR has no test guest: real-CH test not run";
    return "";
  }
  return guest;
}

// The guest's kernel command line, with the serial console the tests read.
std::string guest_cmdline(const std::string& guest_dir) {
  std::string cmdline = read_text(guest_dir + "/kernel-params");
  while (!cmdline.empty() && std::isspace(static_cast<unsigned char>(cmdline.back()))) cmdline.pop_back();
  if (cmdline.find("console=ttyS0") == std::string::npos) cmdline += " console=ttyS0";
  return cmdline;
}

TEST(ChRealBoot, BootsTheTestGuestToReady) {
  std::string skip;
  const std::string guest_dir = usable_guest_dir(skip);
  if (guest_dir.empty()) GTEST_SKIP() << skip;

  testing::TempDir tmp;
  VmPaths paths = VmPaths::for_vm(tmp.path(), tmp.path(), "chboot");
  ASSERT_EQ(::mkdir((tmp.path() + "/vm").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(paths.dir.c_str(), 0700), 0);

  VmSpec spec;
  spec.name = "chboot";
  spec.vcpus = 1;
  spec.memory_mib = 512;
  spec.kernel = guest_dir + "/kernel";
  spec.initrd = guest_dir + "/initrd";
  spec.cmdline = guest_cmdline(guest_dir);
  ASSERT_TRUE(validate(spec)) << validate(spec).error().describe();

  SerialReader serial(paths.serial_fifo());
  CloudHypervisorDriver driver;
  auto launched = driver.launch(spec, paths, std::nullopt);
  ASSERT_TRUE(launched) << launched.error().describe();
  auto& control = *launched->control;
  auto st = control.boot(spec, paths);
  if (!st) {
    launched->process.terminate();
    FAIL() << st.error().describe() << "\nvmm.log:\n" << log_tail(paths.vmm_log());
  }
  bool ready = serial.wait_for("SEED-GUEST-READY", 60s);
  EXPECT_TRUE(ready) << "serial output:\n" << serial.text() << "\nvmm.log:\n" << log_tail(paths.vmm_log());
  auto state = control.state();
  ASSERT_TRUE(state) << state.error().describe();
  EXPECT_EQ(*state, VmState::running);
  EXPECT_FALSE(driver.info().version.empty());
  struct stat agent {};
  EXPECT_EQ(::lstat(paths.agent_socket().c_str(), &agent), 0) << "agent socket not served";

  EXPECT_TRUE(control.quit());
  auto exited = launched->process.wait(10s);
  if (!exited) launched->process.terminate();
}

// A shoot clone in a real Cloud Hypervisor: a template booted and snapshotted, a clone restored
// into a fresh CH process, its command run over the agent console (CH has no exec ports) with
// the windowed exec frames through ChAgentBridge and CH's real pty. Skips loudly where CH
// cannot run (as here); ShootCloneTest.ACommandRunsOverTheAgentConsoleAsOnCloudHypervisor runs
// the same route on QEMU everywhere.
TEST(ChRealBoot, AShootCloneRunsItsCommandOverTheAgentConsole) {
  std::string skip;
  const std::string guest_dir = usable_guest_dir(skip);
  if (guest_dir.empty()) GTEST_SKIP() << skip;
  const char* build = std::getenv("SEED_BUILD_DIR");
  testing::TempDir tmp;
  RunnerSettings settings;
  settings.runtime_dir = tmp.path() + "/run";
  settings.state_dir = tmp.path() + "/state";
  settings.console_logger_binary = std::string(build != nullptr ? build : "build") + "/src/vmm/seed-console-logger";
  CloudHypervisorDriver driver;
  VmRunner runner(driver, settings);
  auto built = shoot::build_template(runner, {guest_dir + "/kernel", guest_dir + "/initrd", guest_cmdline(guest_dir)},
                                     shoot::ShootTier{"small", 1, 256}, tmp.path() + "/template");
  ASSERT_TRUE(built) << built.error().describe();
  auto clone = shoot::ShootVm::restore(runner, tmp.path() + "/template", "shoot-small-1");
  ASSERT_TRUE(clone) << clone.error().describe();
  ASSERT_TRUE((*clone)->prepare(shoot::host_nonce()));
  shoot::ShootCommand c;
  c.argv = {"sh", "-c", "head -c 1048576 /dev/urandom >/tmp/o && sha256sum /tmp/o >&2 && cat /tmp/o"};
  c.timeout = 60s;
  auto ran = (*clone)->run(c);
  ASSERT_TRUE(ran) << ran.error().describe();
  EXPECT_EQ(ran->exit_code, 0) << ran->err;
  ASSERT_EQ(ran->out.size(), 1048576u);
  EXPECT_EQ(ran->err.substr(0, 64), hex(sha256(ran->out)));
  (*clone)->destroy();
}

}  // namespace
}  // namespace seed::vmm::ch
