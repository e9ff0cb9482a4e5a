// Crash safety: a seedd process dies (as abruptly as kill -9) part-way through a deploy; a new
// engine on the same node then converges: every instance runs and serves, with exactly one VM
// each, and no process of the node is left that no record names (no extra QEMU, swtpm,
// virtiofsd or console logger, nothing holding a tap or a vTPM lock).
//
// Three ways to cut a deploy off: after N journaled actions (EngineConfig::fault_after_actions),
// at a named point inside an action (common/crash_point.hpp: right after a spawn, before the
// record naming it), and kill -9 from outside at random times during recreate and rolling
// deploys, round after round.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "common/crash_point.hpp"
#include "common/fd.hpp"
#include "common/owned_processes.hpp"
#include "common/proc_stat.hpp"
#include "common/process.hpp"
#include "engine_fixture.hpp"
#include "reconcile/service_json.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

namespace fs = std::filesystem;

std::string basename_of(const std::string& path) { return fs::path(path).filename().string(); }

class CrashTest : public EngineTest {
 protected:
  // The crash child: a seedd stand-in in this node's network namespace that plants `uri`.
  // nsenter, not `ip netns exec`: that also gives the child a mount namespace of its own, and
  // the VM it leaves behind (with its virtiofsd) would keep the volume mounted in there, out of
  // reach of the next engine's unmount, its loop device attached for good. seedd runs in the
  // host's mount namespace (docs/host-config.md), and so does this stand-in for it.
  SpawnOptions crash_child(const std::string& uri, unsigned fault_after_actions, const std::string& crash_at = "") {
    SpawnOptions child;
    child.argv = {"nsenter", "--net=/run/netns/" + netns_->name(),
                  vmm::testing::build_dir() + "/tests/e2e/engine_crash_child", root(), uri,
                  std::to_string(fault_after_actions)};
    if (!crash_at.empty()) child.env = {"SEED_CRASH_AT=" + crash_at};
    return child;
  }

  // The node's helper processes: those whose command line names the node's directory, and
  // those carrying its owner mark (the store's virtiofsd names neither directory).
  std::map<pid_t, std::string> node_helpers() {
    static const std::set<std::string> kinds = {"qemu-system-x86_64", "swtpm", "seed-console-logger", "virtiofsd"};
    std::map<pid_t, std::string> out;
    for (const auto& owner : {config_.runtime_dir, config_.runtime_dir + "/tpm"}) {
      for (const auto& r : find_owned(owner)) {
        if (!r.argv.empty()) out[r.pid] = basename_of(r.argv[0]);
      }
    }
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string pid = e.path().filename();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      auto cmdline = read_file(e.path().string() + "/cmdline");
      auto st = read_proc_stat(std::stoi(pid));
      if (!cmdline || cmdline->find(root()) == std::string::npos || !st || st->state == 'Z') continue;
      out[std::stoi(pid)] = basename_of(cmdline->substr(0, cmdline->find('\0')));
    }
    std::erase_if(out, [](const auto& p) { return !kinds.count(p.second); });
    return out;
  }

  // Every pid a record of the node names: the VM records (VMM, logger, virtiofsd) and the slot
  // records (swtpm).
  std::set<pid_t> recorded_pids() {
    std::set<pid_t> pids;
    auto add = [&](const nlohmann::json& rec) { pids.insert(rec.at("pid").get<pid_t>()); };
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(config_.runtime_dir + "/vm", ec)) {
      auto text = read_file((e.path() / "vm.json").string());
      if (!text) continue;
      auto j = nlohmann::json::parse(*text);
      if (j.contains("vmm")) add(j["vmm"]);
      if (j.contains("logger")) add(j["logger"]);
      for (const auto& [tag, rec] : j["fs"].items()) add(rec);
    }
    for (auto it = fs::recursive_directory_iterator(config_.state_dir + "/instances", ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename().string().rfind("slot-", 0) != 0) continue;
      auto j = nlohmann::json::parse(*read_file(it->path().string()));
      if (j.contains("swtpm")) add(j["swtpm"]);
    }
    return pids;
  }

  // Helpers that no record names, neither themselves nor an ancestor (virtiofsd's sandbox
  // child belongs to the virtiofsd its record names), as "pid kind" lines.
  std::vector<std::string> unrecorded_helpers() {
    const auto recorded = recorded_pids();
    std::vector<std::string> strays;
    for (const auto& [pid, kind] : node_helpers()) {
      bool named = false;
      for (pid_t p = pid; p > 1 && !named;) {
        named = recorded.count(p) > 0;
        auto st = read_proc_stat(p);
        p = st ? st->ppid : 0;
      }
      if (!named) strays.push_back(std::to_string(pid) + " " + kind);
    }
    return strays;
  }

  int count_helpers(const std::string& kind) {
    int n = 0;
    for (const auto& [pid, k] : node_helpers()) n += k == kind;
    return n;
  }

  // Every instance of `uri` runs its desired generation and serves it through the ingress;
  // the node runs exactly one VM, one swtpm and one logger per instance and nothing stray.
  void expect_converged(const std::string& uri, const std::vector<std::string>& names, const std::string& context) {
    in_ns([&] {
      for (const auto& name : names) {
        auto v = instance(uri, name);
        EXPECT_EQ(v.state, reconcile::InstanceState::running) << context << ": " << reconcile::to_json(v).dump();
        EXPECT_EQ(v.generation, v.desired_generation) << context << ": " << name;
        if (!v.dns_names.empty()) {
          EXPECT_THAT(http_get("http://127.0.0.1:8000/instance.json", v.dns_names.front()),
                      ::testing::HasSubstr(v.generation))
              << context << ": " << name << " does not serve its generation";
        }
      }
    });
    const int n = static_cast<int>(names.size());
    EXPECT_EQ(count_helpers("qemu-system-x86_64"), n) << context << ": one VM per instance";
    EXPECT_EQ(count_helpers("swtpm"), n) << context;
    EXPECT_EQ(count_helpers("seed-console-logger"), n) << context;
    EXPECT_THAT(unrecorded_helpers(), ::testing::IsEmpty()) << context << ": processes no record names";
  }
};

class CrashAfterActionTest : public CrashTest, public ::testing::WithParamInterface<unsigned> {};

TEST_P(CrashAfterActionTest, DeployCutOffAfterActionNConvergesWithoutDuplicatesOrLeaks) {
  const unsigned n = GetParam();
  const std::string uri = write_flake(web_flake(""));
  auto r = run(crash_child(uri, n));
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(r->status.code, 99) << "the fault hook did not fire after action " << n << ": " << r->status.describe();

  open_engine();
  in_ns([&] {
    auto planted = engine_->plant(uri, "test", nullptr);
    ASSERT_TRUE(planted) << planted.error().describe();
  });
  expect_converged(uri, {"web"}, "after action " + std::to_string(n));
  const std::string links = netns_->ip({"-o", "link", "show"});
  int taps = 0;
  for (size_t at = links.find(": sd"); at != std::string::npos; at = links.find(": sd", at + 1)) ++taps;
  EXPECT_EQ(taps, 1) << links;
  int images = 0;
  for (const auto& e : fs::directory_iterator(root() + "/images")) images += e.path().extension() == ".img";
  EXPECT_EQ(images, 1);
}

// Action order of a first deploy: 1 ensure_tap, 2 create_volume, 3 start_vm, 4 await_healthy,
// 5 route (the planner no longer emits start_tpm: start_vm starts the swtpm).
INSTANTIATE_TEST_SUITE_P(AfterAction, CrashAfterActionTest, ::testing::Values(1u, 2u, 3u, 4u));

// Killed inside start_vm, right after a process was spawned and before a record names it (the
// windows of issue 12 item 2: an unrecorded swtpm kept the vTPM lock, a health-run swtpm was
// orphaned, an unrecorded QEMU kept the tap). The next seedd ends what no record names and
// the instance comes up.
class CrashPointTest : public CrashTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(CrashPointTest, KilledRightAfterASpawnTheNextSeeddEndsTheUnrecordedAndConverges) {
  const std::string point = GetParam();
  const std::string uri = write_flake(web_flake(""));
  auto r = run(crash_child(uri, 0, point));
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(r->status.code, kCrashPointExit) << "crash point " << point << " was not reached: " << r->status.describe()
                                             << "\n" << r->err;
  // (The health run's swtpm is killed with its parent thread, so that point leaves nothing.)
  if (point != "tpm.check.spawned") {
    EXPECT_THAT(unrecorded_helpers(), ::testing::Not(::testing::IsEmpty()))
        << "the crash point " << point << " should leave a process no record names";
  }

  open_engine();
  in_ns([&] {
    auto planted = engine_->plant(uri, "test", nullptr);
    ASSERT_TRUE(planted) << point << ": " << planted.error().describe();
  });
  expect_converged(uri, {"web"}, std::string("crash point ") + point);
}

INSTANTIATE_TEST_SUITE_P(InsideStartVm, CrashPointTest,
                         ::testing::Values("tpm.check.spawned", "tpm.vm.spawned", "slot.record", "vm.logger.spawned",
                                           "vm.virtiofsd.spawned", "vmm.spawned", "vm.vmm.launched"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

// kill -9 at random moments of deploys of a `recreate` instance (web) and a `rolling` one (api):
// each round pushes a new generation of both, starts a crash child that deploys it, kills it
// after a random delay, and has the next engine converge. The delays are drawn from a seeded
// generator (printed; SEED_CRASH_SEED replays its draws, scaled by this run's first deploy
// time); SEED_CRASH_ROUNDS sets the number of rounds (default 2, for CI's time: each takes
// about 100 s under TCG on a busy 2-core machine).
class RandomCrashTest : public CrashTest {
 protected:
  std::string two_instance_flake(unsigned round) {
    auto instance = [&](const std::string& name, const std::string& rollout) {
      return "      seeds." + name + R"( = seed.mkSeed {
        name = ")" + name + R"(";
        seed = { expose.http.enable = true; rollout = ")" + rollout + R"("; };
        kernelParams = "seed.httpd=80:/run/seed/host seed.round=)" + std::to_string(round) + R"(";
      };
)";
    };
    return R"({
  outputs = { self }:
    let seed = import ./seed/test-lib.nix { busybox = ./bin; guest = ./guest; };
    in {
)" + instance("web", "recreate") + instance("api", "rolling") + R"(    };
})";
  }
};

unsigned env_number(const char* name, unsigned fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : fallback;
}

TEST_F(RandomCrashTest, SeeddKilledAtRandomDuringRecreateAndRollingDeploysAlwaysConverges) {
  const unsigned rounds = env_number("SEED_CRASH_ROUNDS", 2);
  const unsigned seed = env_number("SEED_CRASH_SEED", std::random_device{}());
  std::mt19937 rng(seed);
  std::cerr << "[ random kills ] SEED_CRASH_SEED=" << seed << " SEED_CRASH_ROUNDS=" << rounds << "\n";

  const std::string uri = write_flake(two_instance_flake(0));
  open_engine();
  const auto began = std::chrono::steady_clock::now();
  in_ns([&] {
    auto planted = engine_->plant(uri, "test", nullptr);
    ASSERT_TRUE(planted) << planted.error().describe();
  });
  // A redeploy takes about as long as this first one: kills fall anywhere in it (or just after).
  const auto deploy_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
  expect_converged(uri, {"web", "api"}, "first deploy");
  close_engine();

  std::uniform_int_distribution<long> delay_ms(0, deploy_ms.count() * 5 / 4);
  for (unsigned round = 1; round <= rounds && !HasFailure(); ++round) {
    write_flake(two_instance_flake(round));
    SpawnOptions o = crash_child(uri, 0);
    o.stderr_mode = Output::file;
    o.stderr_file = root() + "/crash-child-" + std::to_string(round) + ".log";
    auto child = spawn(o);
    ASSERT_TRUE(child) << child.error().describe();
    const auto delay = std::chrono::milliseconds(delay_ms(rng));
    const bool killed = !child->wait(delay);
    if (killed) (void)child->signal(SIGKILL);
    (void)child->wait(std::nullopt);
    const std::string context = "round " + std::to_string(round) + " (SEED_CRASH_SEED=" + std::to_string(seed) +
                                "), seedd " + (killed ? "killed after " + std::to_string(delay.count()) + " ms" : "not killed");
    std::cerr << "[ random kills ] " << context << "\n";

    open_engine();
    in_ns([&] {
      auto planted = engine_->plant(uri, "test", nullptr);
      EXPECT_TRUE(planted) << context << ": " << planted.error().describe();
    });
    expect_converged(uri, {"web", "api"}, context);
    close_engine();
  }
  open_engine();  // for TearDown's unplant
}

}  // namespace
}  // namespace seed::e2e
