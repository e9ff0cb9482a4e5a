// Benchmark (not a test; scripts/bench runs it): the round trip of a shoot of `true` through the
// endpoint a tenant uses (docs/shoots.md). The real engine plants a real QEMU/TCG instance with
// shoot on and a volume on the e2e node (bridge in a netns, nftables, loop volume, swtpm); the
// guest listener runs as seedd wires it; the instance POSTs to $SEED_SHOOT_URL/shoot with
// busybox nc (the hermetic guest has no bash, curl or jq, so seed-shoot.sh cannot run in it;
// nc sends the same request). Measured from the host, per run, after the pool has a ready clone:
//   endpoint  the agent running the POST in the instance: exec + nc + HTTP + caller check +
//             attach of the store share and volume + prepare + exec in the clone + teardown
//   floor     the agent running plain `true` in the same instance (the same exec path, no shoot)
//   engine    the reply's durationMs (clone taken to clone released)
// and seedd's own split per shoot from the engine's `shoot.done` log line (restore happened off
// the request path when the pool was warm). The cold boot of the same guest is shoot_bench's
// (scripts/bench runs both). Prints, never asserts.
// Usage: shoot_endpoint_bench [runs]   (SEED_GUEST_DIR, SEED_BUILD_DIR as for the tests)
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include "engine_fixture.hpp"
#include "reconcile/slot_names.hpp"
#include "shoot_guest.hpp"
#include "shoot_node.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

using Clock = std::chrono::steady_clock;
using vmm::testing::guest_sh;

int g_runs = 20;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void report(const char* what, const std::vector<double>& v) {
  std::printf("%-22s p50 %8.1f ms  p99 %8.1f ms  (n=%zu)\n", what, pct(v, 0.5), pct(v, 0.99), v.size());
}

// Keeps the engine's `shoot.done` lines: the only place seedd exposes its split per shoot.
class ShootDoneSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(lines_, {});
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string line(msg.payload.data(), msg.payload.size());
    if (line.rfind("shoot.done", 0) == 0) lines_.push_back(std::move(line));
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

// key=<integer> fields of one log line, in ms.
std::map<std::string, double> us_fields_ms(const std::string& line) {
  std::map<std::string, double> out;
  static const std::regex field(R"((\w+)_us=(\d+))");
  for (std::sregex_iterator i(line.begin(), line.end(), field), end; i != end; ++i) {
    out[(*i)[1]] = std::stod((*i)[2]) / 1000.0;
  }
  return out;
}

TEST_F(EngineTest, ShootEndpointBenchmark) {
  auto sink = std::make_shared<ShootDoneSink>();
  spdlog::default_logger()->sinks().push_back(sink);
  enable_shoots(config_, root());
  open_engine();
  const std::string uri = write_flake(web_flake("shoot.enable = true;"));
  in_ns([&] {
    auto planted = engine_->plant(uri, "bench", nullptr);
    ASSERT_TRUE(planted) << planted.error().describe();
  });
  std::unique_ptr<Api> api;
  in_ns([&] {
    auto started = start_api(shoot_api_settings(root()), *engine_);
    ASSERT_TRUE(started) << started.error().describe();
    api = std::move(*started);
  });
  const auto web = instance(uri, "web");
  ASSERT_EQ(web.state, reconcile::InstanceState::running);
  const std::string agent = root() + "/run/vm/" + reconcile::slot_vm_name(web.id, 'a') + "/agent.sock";
  // Warm: a ready clone and none in use before each shoot (waited for, bounded, not timed).
  auto wait_warm = [&] {
    for (int i = 0; i < 1200; ++i) {
      const auto stats = engine_->shoot_pool_stats();
      ASSERT_EQ(stats.size(), 1u);
      ASSERT_TRUE(stats[0].template_error.empty()) << stats[0].template_error;
      if (stats[0].template_ready && stats[0].ready > 0 && stats[0].in_use == 0 && stats[0].restoring == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    FAIL() << "the pool never had a ready clone";
  };
  const std::string post = "printf '" + shoot_request(R"({"command":["true"]})") + "' | nc -w 120 " +
                           kBridgeAddress + " " + std::to_string(kGuestApiPort);
  static const std::regex duration(R"("durationMs":(\d+))");

  std::vector<double> endpoint, floor_ms, engine_ms;
  std::map<std::string, std::vector<double>> split;
  (void)sink->take();
  for (int i = 0; i < g_runs; ++i) {
    wait_warm();
    if (HasFatalFailure()) return;
    auto t = Clock::now();
    const auto reply = guest_sh(agent, post).out;
    endpoint.push_back(ms_since(t));
    std::smatch m;
    ASSERT_TRUE(reply.find("\"exitCode\":0") != std::string::npos && std::regex_search(reply, m, duration))
        << "the shoot failed: " << reply;
    engine_ms.push_back(std::stod(m[1]));
    // The same command by the agent in the running instance: the floor, between the shoots.
    t = Clock::now();
    (void)guest_sh(agent, "true");
    floor_ms.push_back(ms_since(t));
  }
  for (const auto& line : sink->take()) {
    for (const auto& [k, v] : us_fields_ms(line)) split[k].push_back(v);
  }

  std::printf("shoot `true` through POST $SEED_SHOOT_URL/shoot from a running instance, hermetic guest, "
              "QEMU/TCG, %d runs\n", g_runs);
  report("endpoint (warm pool)", endpoint);
  report("floor (agent `true`)", floor_ms);
  report("engine durationMs", engine_ms);
  // What the engine's clock does not see: the agent's exec of the POST, nc, HTTP, the caller
  // check and the admission gate.
  std::vector<double> outside;
  for (size_t i = 0; i < endpoint.size(); ++i) outside.push_back(endpoint[i] - engine_ms[i]);
  report("outside the engine", outside);
  for (double p : {0.5, 0.99}) {
    std::printf("seedd split p%.0f (n=%zu): restore %.1f (the wait for a restore: 0 when a ready clone was taken), attach %.1f, prepare %.1f, "
                "exec %.1f, teardown %.1f ms\n",
                p * 100, split["exec"].size(), pct(split["restore"], p), pct(split["attach"], p),
                pct(split["prepare"], p), pct(split["exec"], p), pct(split["teardown"], p));
  }
  std::printf("ratio to the floor: endpoint p50 %.1fx, p99 %.1fx; endpoint minus floor p50 %.1f ms\n",
              pct(endpoint, 0.5) / pct(floor_ms, 0.5), pct(endpoint, 0.99) / pct(floor_ms, 0.99),
              pct(endpoint, 0.5) - pct(floor_ms, 0.5));
  api.reset();
}

}  // namespace
}  // namespace seed::e2e

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 1) seed::e2e::g_runs = std::max(1, std::atoi(argv[1]));
  return RUN_ALL_TESTS();
}
