// Benchmark: what the VM layer costs on top of QEMU itself.
//   1. start → "SEED-GUEST-READY" on the console, through VmRunner (console logger, QMP,
//      paused start + cont) vs the same QEMU command line started by hand writing the serial
//      port straight to a file. Median of N each, printed as a ratio (target: < 1.05).
//   2. restore from a snapshot → guest answering vs a cold boot → ready.
// Runs the hermetic test guest under QEMU/TCG. Not a test: it prints, it does not assert.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "vmm/agent_client.hpp"
#include "vmm/qemu/qemu_args.hpp"
#include "vmm/qemu/tsc_rate.hpp"
#include "vmm/qemu/qemu_driver.hpp"
#include "vmm/vm_runner.hpp"

namespace {

using namespace seed;
using namespace seed::vmm;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

bool wait_for(const std::string& file, const std::string& needle, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto text = read_file(file);
    if (text && text->find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

VmSpec guest(const std::string& dir, const std::string& name) {
  VmSpec s;
  s.name = name;
  s.kernel = dir + "/kernel";
  s.initrd = dir + "/initrd";
  s.cmdline = read_file(dir + "/kernel-params").value();
  while (!s.cmdline.empty() && s.cmdline.back() == '\n') s.cmdline.pop_back();
  s.memory_mib = 256;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string guest_dir = argc > 1 ? argv[1] : "build/guest";
  const std::string logger = argc > 2 ? argv[2] : "build/src/vmm/seed-console-logger";
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  char tmpl[] = "/tmp/seed-bench-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  qemu::QemuDriver driver("qemu-system-x86_64", qemu::Accel::tcg);
  RunnerSettings settings;
  settings.runtime_dir = root + "/run";
  settings.state_dir = root + "/state";
  settings.console_logger_binary = logger;
  VmRunner runner(driver, settings);

  const unsigned tsc_khz = qemu::host_tsc_khz();  // the driver measured it once too
  std::vector<double> layer, by_hand, restore;
  for (int i = 0; i < runs; ++i) {
    // Through the VM layer.
    // A name per run: a VM's console log is kept across its restarts (it is state), so a
    // reused name would find the previous run's ready marker at once.
    const std::string name = "bench" + std::to_string(i);
    auto t0 = Clock::now();
    auto vm = runner.start(guest(guest_dir, name));
    if (!vm) return std::fprintf(stderr, "%s\n", vm.error().describe().c_str()), 1;
    if (!wait_for((*vm)->paths().console_log(), "SEED-GUEST-READY", 60s)) return 1;
    layer.push_back(seconds_since(t0));
    // Snapshot it, restore it, and time until the agent answers.
    std::string snap = root + "/snap" + std::to_string(i);
    if (!(*vm)->snapshot(snap)) return 1;
    (void)(*vm)->stop(5s);
    t0 = Clock::now();
    auto restored = runner.restore(snap);
    if (!restored) return std::fprintf(stderr, "%s\n", restored.error().describe().c_str()), 1;
    auto agent = AgentClient::connect((*restored)->paths().agent_socket());
    if (!agent || !agent->call("ping", 30s)) return 1;
    restore.push_back(seconds_since(t0));
    (void)(*restored)->stop(5s);
    fs::remove_all(snap);

    // The same QEMU by hand: no QMP, no -S, serial straight into a file.
    std::string serial = root + "/serial-" + std::to_string(i) + ".log";
    VmPaths paths = VmPaths::for_vm(root + "/hand", root + "/hand", "bench");
    auto args = qemu::qemu_args(guest(guest_dir, "bench"), paths, {"qemu-system-x86_64", qemu::Accel::tcg, 3, 4, 5, false, tsc_khz});
    std::vector<std::string> plain;
    for (size_t a = 0; a < args.size(); ++a) {
      const std::string& arg = args[a];
      if (arg == "-S") continue;
      if (arg == "-chardev" && args[a + 1].rfind("socket,id=qmp", 0) == 0) { ++a; continue; }
      if (arg == "-mon") { ++a; continue; }
      // The guest keeps its agent port (same device model, so init does not wait for a port
      // that never comes); only seedd's socket behind it goes.
      if (arg == "-chardev" && args[a + 1].rfind("socket,id=agent", 0) == 0) {
        plain.insert(plain.end(), {"-chardev", "null,id=agent"});
        ++a;
        continue;
      }
      if (arg == "-chardev" && args[a + 1].rfind("socket,id=seedconsole", 0) == 0) {  // same for the console port
        plain.insert(plain.end(), {"-chardev", "null,id=seedconsole"});
        ++a;
        continue;
      }
      if (arg == "-chardev" && args[a + 1].rfind("file,id=serial0", 0) == 0) {
        plain.insert(plain.end(), {"-chardev", "file,id=serial0,path=" + serial});
        ++a;
        continue;
      }
      plain.push_back(arg);
    }
    SpawnOptions o;
    o.argv = plain;
    t0 = Clock::now();
    auto child = spawn(o);
    if (!child) return std::fprintf(stderr, "%s\n", child.error().describe().c_str()), 1;
    if (!wait_for(serial, "SEED-GUEST-READY", 60s)) return 1;
    by_hand.push_back(seconds_since(t0));
    child->terminate(1s);
  }
  fs::remove_all(root);
  double l = median(layer), h = median(by_hand), r = median(restore);
  std::printf("start to ready (median of %d): vm layer %.3f s, qemu by hand %.3f s, ratio %.3f (target < 1.05)\n",
              runs, l, h, l / h);
  std::printf("restore from snapshot to agent answer %.3f s vs cold boot %.3f s: %.1fx faster\n", r, l, l / r);
  return 0;
}
