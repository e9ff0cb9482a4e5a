// Benchmark: the round trip of a shoot running `true` (docs/shoots.md), three ways:
//   warm   a clone taken from a filled ShootPool: attach (one read-write volume, hot-plugged
//          virtio-fs) + prepare (rng + clock) + exec (framed exec) + teardown
//          (the restore happened off the request path; the pool refills between runs)
//   cold   a cold boot of the same guest (q35, spare ports, no net/TPM) until its agent
//          answers, then exec + stop
//   floor  the same command through the agent of one VM that keeps running
// with seedd's split per warm shoot. Hermetic test guest under QEMU/TCG. Prints, never asserts.
// Usage: shoot_bench [runs]   (SEED_GUEST_DIR, SEED_BUILD_DIR as for the tests)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "vmm/qemu/qemu_driver.hpp"
#include "vmm/shoot/shoot_exec.hpp"
#include "vmm/shoot/shoot_pool.hpp"

namespace {

using namespace seed;
using namespace seed::vmm;
using namespace seed::vmm::shoot;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }
double ms(std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; }

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void report(const char* what, const std::vector<double>& v) {
  std::printf("%-18s p50 %8.1f ms  p99 %8.1f ms  (n=%zu)\n", what, pct(v, 0.5), pct(v, 0.99), v.size());
}

ShootCommand truth() {
  ShootCommand c;
  c.argv = {"true"};
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 10;
  const char* g = std::getenv("SEED_GUEST_DIR");
  const char* b = std::getenv("SEED_BUILD_DIR");
  const std::string guest = g ? g : "build/guest";
  const std::string build = b ? b : "build";
  char tmpl[] = "/tmp/seed-shoot-bench-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  RunnerSettings rs;
  rs.runtime_dir = root + "/run";
  rs.state_dir = root + "/state";
  rs.console_logger_binary = build + "/src/vmm/seed-console-logger";
  qemu::QemuDriver driver("qemu-system-x86_64", qemu::Accel::tcg);
  VmRunner runner(driver, rs);
  auto params = read_file(guest + "/kernel-params");
  std::string cmdline = params ? *params : "console=ttyS0";
  while (!cmdline.empty() && cmdline.back() == '\n') cmdline.pop_back();
  ShootPoolConfig pc;
  pc.dir = root + "/state/shoot-templates";
  const std::string volume = root + "/volume";
  std::filesystem::create_directories(volume);
  pc.image = {guest + "/kernel", guest + "/initrd", cmdline};
  pc.tiers = {{ShootTier{"small", 1, 256}, 1}};
  pc.max_vms = 3;
  pc.max_memory_mib = 768;

  std::vector<double> warm, cold, floor_ms, attach, prepare, exec, teardown;
  {
    ShootPool pool(runner, pc);
    pool.start();
    if (!pool.wait_filled(300s) || !pool.stats()[0].template_ready) {
      std::fprintf(stderr, "the pool did not fill: %s\n", pool.stats()[0].template_error.c_str());
      return 1;
    }
    for (int i = 0; i < runs; ++i) {
      (void)pool.wait_filled(120s);
      auto t0 = Clock::now();
      auto lease = pool.take("small");
      if (!lease) return std::fprintf(stderr, "%s\n", lease.error().describe().c_str()), 1;
      auto t = Clock::now();
      auto attached = lease->vm().attach({{{"shoot-vol-v", volume, false}, "/v"}});
      if (!attached) return std::fprintf(stderr, "%s\n", attached.error().describe().c_str()), 1;
      attach.push_back(ms_since(t));
      t = Clock::now();
      if (!lease->vm().prepare(host_nonce())) return 1;
      prepare.push_back(ms_since(t));
      t = Clock::now();
      if (!lease->vm().run(truth())) return 1;
      exec.push_back(ms_since(t));
      teardown.push_back(ms(lease->release()));
      warm.push_back(ms_since(t0));
    }
    // The floor: one clone kept running, the command through its agent again and again.
    auto lease = pool.take("small");
    if (!lease) return 1;
    for (int i = 0; i < runs; ++i) {
      auto t = Clock::now();
      if (!lease->vm().run(truth())) return 1;
      floor_ms.push_back(ms_since(t));
    }
  }
  for (int i = 0; i < runs; ++i) {
    VmSpec spec;
    spec.name = "shoot-cold-" + std::to_string(i);
    spec.kernel = pc.image.kernel;
    spec.initrd = pc.image.initrd;
    spec.cmdline = cmdline;
    spec.hotplug_slots = kShootHotplugSlots;
    auto t0 = Clock::now();
    auto vm = runner.start(spec);
    if (!vm) return std::fprintf(stderr, "%s\n", vm.error().describe().c_str()), 1;
    auto agent = wait_agent((*vm)->paths().agent_socket(), 180s);
    if (!agent || !run_command(exec_route((*vm)->paths(), ExecVia::exec_port), truth())) return 1;
    (void)(*vm)->stop(0ms);
    cold.push_back(ms_since(t0));
  }
  std::printf("shoot `true`, hermetic guest, QEMU/TCG, %d runs each\n", runs);
  report("warm pool", warm);
  report("cold boot", cold);
  report("floor (agent)", floor_ms);
  for (double p : {0.5, 0.99}) {
    std::printf("warm split p%.0f: restore 0 (off the request path), attach %.1f, prepare %.1f, exec %.1f, "
                "teardown %.1f ms\n", p * 100, pct(attach, p), pct(prepare, p), pct(exec, p), pct(teardown, p));
  }
  std::printf("ratios to the floor p50: warm %.1fx, cold %.1fx; p99: warm %.1fx, cold %.1fx\n",
              pct(warm, 0.5) / pct(floor_ms, 0.5), pct(cold, 0.5) / pct(floor_ms, 0.5),
              pct(warm, 0.99) / pct(floor_ms, 0.99), pct(cold, 0.99) / pct(floor_ms, 0.99));
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return 0;
}
