// Benchmark (not a test; scripts/bench runs it): push-to-serving time of a one-line change,
// split by stage (eval, build, boot, healthy, route), on the e2e node (real nix, QEMU/TCG,
// bridge in a netns). The peer is the same guest booted by hand through the VM layer to its
// agent's first answer, in the same run: how much the engine adds on top of a bare boot.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "engine_fixture.hpp"
#include "vmm/agent_client.hpp"
#include "vmm/qemu/qemu_driver.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

using Clock = std::chrono::steady_clock;

// Seconds spent in each stage, from the time each stage's first progress line arrived.
std::map<std::string, double> stage_times(const std::vector<std::pair<std::string, Clock::time_point>>& marks,
                                          Clock::time_point end) {
  std::map<std::string, double> out;
  for (size_t i = 0; i < marks.size(); ++i) {
    const auto until = i + 1 < marks.size() ? marks[i + 1].second : end;
    out[marks[i].first] += std::chrono::duration<double>(until - marks[i].second).count();
  }
  return out;
}

TEST_F(EngineTest, PushToServingBenchmark) {
  open_engine();
  const std::string uri = write_flake(web_flake(""));
  in_ns([&] { ASSERT_TRUE(engine_->plant(uri, "bench", nullptr)); });

  std::printf("push-to-serving of a one-line change (recreate), seconds by stage:\n");
  double total_engine = 0;
  const int runs = 3;
  std::map<std::string, double> sum;
  for (int run = 0; run < runs; ++run) {
    write_flake(web_flake("", "seed.bench=" + std::to_string(run)));
    std::vector<std::pair<std::string, Clock::time_point>> marks;
    const auto t0 = Clock::now();
    in_ns([&] {
      auto r = engine_->plant(uri, "bench", [&](const reconcile::Progress& p) {
        if (marks.empty() || marks.back().first != p.stage) marks.push_back({p.stage, Clock::now()});
      });
      ASSERT_TRUE(r) << r.error().describe();
    });
    const auto t1 = Clock::now();
    total_engine += std::chrono::duration<double>(t1 - t0).count();
    for (const auto& [stage, s] : stage_times(marks, t1)) sum[stage] += s;
  }
  for (const auto& [stage, s] : sum) std::printf("  %-8s %6.2f\n", stage.c_str(), s / runs);
  std::printf("  total    %6.2f\n", total_engine / runs);

  // Peer: the bare VM layer booting the same guest to its agent's first answer.
  vmm::qemu::QemuDriver driver("qemu-system-x86_64", vmm::qemu::Accel::tcg);
  vmm::RunnerSettings rs;
  rs.runtime_dir = root() + "/peer-run";
  rs.state_dir = root() + "/peer-state";
  rs.console_logger_binary = vmm::testing::build_dir() + "/src/vmm/seed-console-logger";
  vmm::VmRunner runner(driver, rs);
  double peer = 0;
  for (int run = 0; run < runs; ++run) {
    vmm::VmSpec spec;
    spec.name = "peer-" + std::to_string(run);
    spec.kernel = vmm::testing::guest_dir() + "/kernel";
    spec.initrd = vmm::testing::guest_dir() + "/initrd";
    auto params = read_file(vmm::testing::guest_dir() + "/kernel-params");
    spec.cmdline = params ? *params : "";
    while (!spec.cmdline.empty() && spec.cmdline.back() == '\n') spec.cmdline.pop_back();
    spec.memory_mib = 512;
    const auto t0 = Clock::now();
    auto vm = runner.start(spec);
    ASSERT_TRUE(vm) << vm.error().describe();
    bool answered = false;
    while (!answered && Clock::now() - t0 < std::chrono::seconds(60)) {
      auto agent = vmm::AgentClient::connect((*vm)->paths().agent_socket(), std::chrono::seconds(2));
      if (agent) {
        auto pong = agent->call("ping", std::chrono::seconds(2));
        answered = pong && !pong->empty() && pong->front() == "pong";
      }
      if (!answered) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    peer += std::chrono::duration<double>(Clock::now() - t0).count();
    ASSERT_TRUE(answered);
    (void)(*vm)->stop(std::chrono::seconds(5));
  }
  std::printf("  bare VM boot to agent answer %6.2f s; push-to-serving / bare boot = %.2f\n", peer / runs,
              (total_engine / runs) / (peer / runs));
}

}  // namespace
}  // namespace seed::e2e
