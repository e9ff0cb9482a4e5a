// The reconcile engine end to end: real nix builds a tenant flake, real QEMU guests boot it on
// a real bridge in a fresh network namespace, and the page is fetched through seedd's own
// ingress proxy and resolved through its DNS server. Each step asserts what a tenant sees.
#include <atomic>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/fd.hpp"
#include "engine_fixture.hpp"
#include "reconcile/service_json.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

// The generation the guest itself reports (its seed share's instance.json, served by httpd).
std::string served_generation(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_object() ? j.value("generation", "") : "";
}

TEST_F(EngineTest, PlantChangeNoChangeBadPushesUnhealthyAndVolumes) {
  open_engine();
  const std::string uri = write_flake(web_flake(""));
  std::vector<std::string> stages;

  // 1. plant → the instance answers through the ingress by its DNS name.
  in_ns([&] {
    auto planted = engine_->plant(uri, "test", [&](const reconcile::Progress& p) { stages.push_back(p.stage); });
    ASSERT_TRUE(planted) << planted.error().describe();
  });
  EXPECT_THAT(stages, ::testing::IsSupersetOf({"fetch", "eval", "build", "boot", "healthy", "done"}));
  reconcile::InstanceView web = in_ns([&] { return instance(uri, "web"); });
  ASSERT_EQ(web.state, reconcile::InstanceState::running) << reconcile::to_json(web).dump();
  const std::string fqdn = "web." + web.id.ns + ".seed.test";
  EXPECT_EQ(web.dns_names.front(), fqdn);
  EXPECT_EQ(served_generation(http_get("http://127.0.0.1:8000/instance.json", fqdn)), web.generation);
  EXPECT_EQ(dig(fqdn), web.ipv4 + "\n");
  EXPECT_THAT(http_get("http://127.0.0.1:8000/instance.json", "nobody." + web.id.ns + ".seed.test"), Not(HasSubstr("generation")));
  const std::string gen1 = web.generation;
  const pid_t pid1 = engine_->vm_pid(web.id);
  ASSERT_GT(pid1, 0);

  // A file on the volume (written on the host side of the mount) is served by the guest.
  const std::string volume = root() + "/mnt/seed." + web.id.ns + ".web.data";
  ASSERT_TRUE(write_file_atomic(volume + "/kept.txt", "still here\n"));
  EXPECT_EQ(http_get("http://" + web.ipv4 + ":8080/kept.txt"), "still here\n");

  // 2. the same flake again → same generation, nothing restarts.
  in_ns([&] {
    auto again = engine_->plant(uri, "test", nullptr);
    ASSERT_TRUE(again) << again.error().describe();
  });
  EXPECT_EQ(engine_->vm_pid(web.id), pid1);
  EXPECT_EQ(in_ns([&] { return instance(uri, "web"); }).generation, gen1);

  // 3. a change, rolling: the new generation starts beside the old one, takes over, the old stops.
  write_flake(web_flake(R"(rollout = "rolling";)", "seed.debug=0"));
  in_ns([&] { ASSERT_TRUE(engine_->plant(uri, "test", nullptr)); });
  web = in_ns([&] { return instance(uri, "web"); });
  EXPECT_EQ(web.state, reconcile::InstanceState::running);
  EXPECT_NE(web.generation, gen1);
  EXPECT_NE(engine_->vm_pid(web.id), pid1);
  EXPECT_EQ(::kill(pid1, 0), -1) << "the old generation's VMM still runs";
  EXPECT_EQ(served_generation(http_get("http://127.0.0.1:8000/instance.json", fqdn)), web.generation);
  EXPECT_EQ(dig(fqdn), web.ipv4 + "\n");
  EXPECT_EQ(http_get("http://" + web.ipv4 + ":8080/kept.txt"), "still here\n") << "the volume survives a redeploy";
  const std::string gen2 = web.generation;
  const pid_t pid2 = engine_->vm_pid(web.id);

  // 4. an eval error and a build error: shown with their stage, the running generation stays.
  write_flake("{ outputs = { self }: { seeds = ; }; }");
  in_ns([&] {
    auto bad = engine_->plant(uri, "test", nullptr);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().get("stage").value_or(""), "eval") << bad.error().describe();
    auto views = engine_->status(uri);
    ASSERT_TRUE(views && views->front().failure);
    EXPECT_EQ(views->front().failure->stage, "eval");
    EXPECT_THAT(views->front().failure->message, HasSubstr("syntax error"));
  });
  EXPECT_EQ(engine_->vm_pid(web.id), pid2);
  std::string broken = web_flake(R"(rollout = "rolling";)", "seed.debug=0");
  broken.replace(broken.find("seeds.web = seed.mkSeed {"), 25,
                 "seeds.web = (seed.mkSeed {");
  broken.replace(broken.rfind("};\n    };"), 9,
                 "}) // { toplevel = derivation { name = \"broken\"; system = \"x86_64-linux\"; builder = \"${./bin}/busybox\"; args = [ \"sh\" \"-c\" \"echo this build fails >&2; exit 3\" ]; }; };\n    };");
  write_flake(broken);
  in_ns([&] {
    (void)engine_->plant(uri, "test", nullptr);
    auto v = instance(uri, "web");
    ASSERT_TRUE(v.failure) << reconcile::to_json(v).dump();
    EXPECT_EQ(v.failure->stage, "build");
    EXPECT_THAT(v.failure->message, HasSubstr("this build fails"));
    EXPECT_EQ(v.generation, gen2);
  });
  EXPECT_EQ(engine_->vm_pid(web.id), pid2);

  // 5. a generation that never becomes healthy (recreate): rolled back, quarantined.
  // (health and rollout are not part of the generation: the kernel parameter makes it new)
  write_flake(web_flake(R"(health = { path = "/no-such-page"; timeout = 15; };)", "seed.debug=0 seed.unhealthy=1"));
  in_ns([&] {
    auto r = engine_->plant(uri, "test", nullptr);
    auto v = instance(uri, "web");
    ASSERT_TRUE(v.failure) << reconcile::to_json(v).dump();
    EXPECT_EQ(v.failure->stage, "health") << v.failure->message;
    EXPECT_EQ(v.generation, gen2) << "rolled back to the last healthy generation";
    EXPECT_EQ(v.state, reconcile::InstanceState::running);
    auto q = engine_->quarantine_list();
    ASSERT_TRUE(q);
    ASSERT_EQ(q->size(), 1u);
    EXPECT_EQ(q->front().instance, v.id.str());
  });
  EXPECT_EQ(served_generation(http_get("http://127.0.0.1:8000/instance.json", fqdn)), gen2);
  // Pushing the quarantined closure again does not redeploy it.
  const pid_t pid3 = engine_->vm_pid(web.id);
  in_ns([&] {
    (void)engine_->plant(uri, "test", nullptr);
    auto v = instance(uri, "web");
    ASSERT_TRUE(v.failure);
    EXPECT_EQ(v.failure->stage, "quarantine");
  });
  EXPECT_EQ(engine_->vm_pid(web.id), pid3);
}

TEST_F(EngineTest, CrashedVmIsRestartedAndSeeddRestartAdoptsRunningVms) {
  config_.backoff_base = std::chrono::seconds(1);
  open_engine();
  const std::string uri = write_flake(web_flake(""));
  in_ns([&] { ASSERT_TRUE(engine_->plant(uri, "test", nullptr)); });
  auto web = in_ns([&] { return instance(uri, "web"); });
  const pid_t pid1 = engine_->vm_pid(web.id);
  ASSERT_GT(pid1, 0);
  // usage() reads the running VMM's CPU time and resident memory (the status page's plots).
  auto usage = engine_->usage();
  ASSERT_TRUE(usage);
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ(usage->front().id.name, "web");
  EXPECT_EQ(usage->front().source, uri);
  EXPECT_GT(usage->front().cpu_seconds, 0.1);             // it booted a kernel under TCG
  EXPECT_GT(usage->front().memory_bytes, 16u << 20);      // QEMU plus the guest's touched RAM

  // seedd goes away and comes back: the VM keeps running and is adopted, not restarted.
  close_engine();
  EXPECT_EQ(::kill(pid1, 0), 0);
  open_engine();
  EXPECT_EQ(engine_->vm_pid(web.id), pid1);
  EXPECT_EQ(in_ns([&] { return instance(uri, "web"); }).state, reconcile::InstanceState::running);
  auto adopted = in_ns([&] { return instance(uri, "web"); });
  EXPECT_EQ(adopted.generation, web.generation);
  EXPECT_EQ(served_generation(http_get("http://127.0.0.1:8000/instance.json", adopted.dns_names.front())),
            web.generation);

  // The VMM is killed: the supervisor restarts the same generation after its backoff.
  ASSERT_EQ(::kill(pid1, SIGKILL), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  pid_t pid2 = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid2 = engine_->vm_pid(web.id);
    if (pid2 != 0 && pid2 != pid1 &&
        in_ns([&] { return instance(uri, "web"); }).state == reconcile::InstanceState::running) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_NE(pid2, pid1);
  ASSERT_NE(pid2, 0);
  auto after = in_ns([&] { return instance(uri, "web"); });
  EXPECT_EQ(after.generation, web.generation);
  EXPECT_EQ(served_generation(http_get("http://127.0.0.1:8000/instance.json", after.dns_names.front())),
            web.generation);
}

// seedd stopping while a plant waits on nix: the evaluation is killed, the plant returns at
// once saying why, and nothing is recorded against the flake (the next seedd deploys it).
TEST_F(EngineTest, ShutdownStopsADeployInNixAndBlamesNobody) {
  open_engine();
  // 2^60 additions: this evaluation would run until nix's 300 s deadline.
  const std::string uri = write_flake(R"({ outputs = { self }: {
    seeds.web = { meta = let f = n: if n == 0 then 1 else f (n - 1) + f (n - 1); in f 60; }; }; })");
  std::atomic<bool> evaluating{false};
  std::optional<Error> error;
  std::thread planter([&] {
    in_ns([&] {
      auto r = engine_->plant(uri, "test", [&](const reconcile::Progress& p) { evaluating = evaluating || p.stage == "eval"; });
      error = r ? make_error(Errc::internal, "planted") : r.error();
    });
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!evaluating && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // nix is running by now
  engine_->shutdown();
  planter.join();
  EXPECT_TRUE(evaluating);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->get("cancelled"), "yes") << error->describe();
  EXPECT_THAT(error->describe(), HasSubstr("shutting down"));

  close_engine();
  open_engine();
  auto views = in_ns([&] { return engine_->status(uri); });
  ASSERT_TRUE(views) << views.error().describe();
  ASSERT_EQ(views->size(), 1u);  // still planted
  EXPECT_FALSE(views->front().failure) << views->front().failure->message;
  // The reopened engine evaluates the flake again; stop that too, or TearDown's unplant would
  // wait for it.
  engine_->shutdown();
}

// A VM that keeps dying is given up on after max_crashes, with the exit report and its console
// tail in `status`, and stays down (no restart loop) until the owner's `restart`.
TEST_F(EngineTest, RepeatedCrashesMarkTheInstanceFailedUntilRestart) {
  config_.backoff_base = std::chrono::seconds(1);
  config_.max_crashes = 2;
  open_engine();
  const std::string uri = write_flake(web_flake(""));
  in_ns([&] { ASSERT_TRUE(engine_->plant(uri, "test", nullptr)); });
  const auto web = in_ns([&] { return instance(uri, "web"); });
  auto running_other_than = [&](pid_t old) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
      pid_t pid = engine_->vm_pid(web.id);
      if (pid != 0 && pid != old && in_ns([&] { return instance(uri, "web"); }).state == reconcile::InstanceState::running) {
        return pid;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return pid_t{0};
  };

  const pid_t pid1 = engine_->vm_pid(web.id);
  ASSERT_EQ(::kill(pid1, SIGKILL), 0);
  const pid_t pid2 = running_other_than(pid1);
  ASSERT_NE(pid2, 0) << "the first crash is restarted";
  ASSERT_EQ(::kill(pid2, SIGKILL), 0);

  reconcile::InstanceView failed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    failed = in_ns([&] { return instance(uri, "web"); });
    if (failed.state == reconcile::InstanceState::failed) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(failed.state, reconcile::InstanceState::failed);
  ASSERT_TRUE(failed.failure);
  EXPECT_EQ(failed.failure->stage, "runtime");
  EXPECT_THAT(failed.failure->message, HasSubstr("crashed 2 times"));
  EXPECT_THAT(failed.failure->message, HasSubstr("console"));  // the exit report's console tail
  // Well past the longest backoff: nothing restarted it.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(engine_->vm_pid(web.id), 0);
  EXPECT_EQ(in_ns([&] { return instance(uri, "web"); }).state, reconcile::InstanceState::failed);

  // The owner's restart clears it: the same generation runs and is served again.
  in_ns([&] { ASSERT_TRUE(engine_->restart(web.id, nullptr)); });
  const auto back = in_ns([&] { return instance(uri, "web"); });
  EXPECT_EQ(back.state, reconcile::InstanceState::running);
  EXPECT_FALSE(back.failure);
  EXPECT_EQ(back.generation, web.generation);
  EXPECT_EQ(served_generation(http_get("http://127.0.0.1:8000/instance.json", back.dns_names.front())), web.generation);
}

}  // namespace
}  // namespace seed::e2e

namespace seed::e2e {
namespace {

// Someone else's bad push: each gets one clear error naming source, instance and stage, and
// the instance already running on the node is not disturbed (same VMM, still served).
TEST_F(EngineTest, BadInputIsNamedAndDisturbsNobody) {
  open_engine();
  const std::string good = write_flake(web_flake(""));
  in_ns([&] { ASSERT_TRUE(engine_->plant(good, "test", nullptr)); });
  const auto web = in_ns([&] { return instance(good, "web"); });
  const pid_t pid = engine_->vm_pid(web.id);

  auto plant_error = [&](const std::string& uri) {
    return in_ns([&]() -> Error {
      auto r = engine_->plant(uri, "test", nullptr);
      if (r) return make_error(Errc::internal, "planted");
      return r.error();
    });
  };
  // A URI seedd does not accept at all.
  Error e = plant_error("ftp://example.org/x");
  EXPECT_EQ(e.code, Errc::invalid_argument);
  EXPECT_THAT(e.describe(), HasSubstr("accepted forms"));
  // A URI nix cannot fetch.
  e = plant_error("git+file://" + root() + "/no-such-repo");
  EXPECT_EQ(e.get("stage").value_or(""), "eval") << e.describe();
  EXPECT_THAT(e.describe(), HasSubstr("no-such-repo"));
  // A flake without seeds.
  e = plant_error(write_flake("{ outputs = { self }: { packages = { }; }; }", "no-seeds"));
  EXPECT_EQ(e.get("stage").value_or(""), "eval") << e.describe();
  EXPECT_THAT(e.describe(), HasSubstr("seeds"));

  // An instance name that is not a DNS label, and meta with a field seedd does not know: the
  // source plants, the instance is refused with stage eval and a message naming it.
  const std::string odd = write_flake(R"({
  outputs = { self }:
    let seed = import ./seed/test-lib.nix { busybox = ./bin; guest = ./guest; };
        web = seed.mkSeed { name = "web"; seed = { expose.http.enable = true; }; };
    in {
      seeds.Bad_Name = web;
      seeds.web = web // { meta = web.meta // { colour = "red"; }; };
    };
})", "odd");
  in_ns([&] {
    (void)engine_->plant(odd, "test", nullptr);
    auto views = engine_->status(odd);
    ASSERT_TRUE(views) << views.error().describe();
    std::map<std::string, reconcile::InstanceView> by_name;
    for (const auto& i : views->front().instances) by_name[i.id.name] = i;
    // Nothing of it runs; the failures are kept per instance.
    for (const auto& [name, i] : by_name) EXPECT_EQ(engine_->vm_pid(i.id), 0) << name;
  });
  in_ns([&] {
    auto views = engine_->status(odd);
    ASSERT_TRUE(views);
    auto web_failure = instance(odd, "web").failure;
    ASSERT_TRUE(web_failure);
    EXPECT_EQ(web_failure->stage, "eval");
    EXPECT_THAT(web_failure->message, HasSubstr("colour"));
    auto bad_failure = instance(odd, "Bad_Name").failure;
    ASSERT_TRUE(bad_failure);
    EXPECT_EQ(bad_failure->stage, "eval");
    EXPECT_THAT(bad_failure->message, HasSubstr("Bad_Name"));
  });

  EXPECT_EQ(engine_->vm_pid(web.id), pid) << "the running instance was disturbed";
  EXPECT_EQ(in_ns([&] { return instance(good, "web"); }).state, reconcile::InstanceState::running);
  EXPECT_EQ(served_generation(http_get("http://127.0.0.1:8000/instance.json", web.dns_names.front())), web.generation);
}

}  // namespace
}  // namespace seed::e2e
