// A shoot end to end: the real engine plants a real QEMU/TCG instance with shoot on and a
// volume on the real bridge; the HTTP API runs on the bridge address as seedd starts it; the
// instance itself POSTs to $SEED_SHOOT_URL/shoot with busybox nc across its tap and the node's
// firewall; the shoot runs in a clone from the engine's pool (the hermetic guest as the shoot
// image) with the instance's volume hot-plugged, and the instance reads what the shoot wrote.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "common/metrics.hpp"
#include "engine_fixture.hpp"
#include "reconcile/slot_names.hpp"
#include "shoot_guest.hpp"
#include "shoot_node.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using vmm::testing::guest_sh;

class ShootE2eTest : public EngineTest {
 protected:
  // A test tightens the shoot settings here, before the engine opens.
  virtual void tune(reconcile::EngineConfig::Shoots&) {}

  void SetUp() override {
    EngineTest::SetUp();
    if (HasFatalFailure()) return;
    enable_shoots(config_, root());
    tune(config_.shoots);
    open_engine();
    uri_ = write_flake(web_flake("shoot.enable = true;"));
    in_ns([&] {
      auto planted = engine_->plant(uri_, "test", nullptr);
      ASSERT_TRUE(planted) << planted.error().describe();
    });
    start_listener();
    web_ = instance(uri_, "web");
    ASSERT_EQ(web_.state, reconcile::InstanceState::running);
    wait_for_pool();
  }
  void TearDown() override {
    api_.reset();
    EngineTest::TearDown();
  }
  void start_listener() {
    in_ns([&] {
      auto api = start_api(shoot_api_settings(root()), *engine_);
      ASSERT_TRUE(api) << api.error().describe();
      api_ = std::move(*api);
    });
  }
  // The pool's template is built in the background, then a clone is restored: wait for a
  // ready clone (bounded, not timed).
  void wait_for_pool() {
    for (int i = 0; i < 1200; ++i) {
      auto stats = engine_->shoot_pool_stats();
      ASSERT_EQ(stats.size(), 1u);
      ASSERT_TRUE(stats[0].template_error.empty()) << stats[0].template_error;
      if (stats[0].template_ready && stats[0].ready > 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    FAIL() << "the pool never had a ready clone";
  }
  std::string agent() { return root() + "/run/vm/" + reconcile::slot_vm_name(web_.id, 'a') + "/agent.sock"; }
  std::string clone_prefix() { return root() + "/run/vm/shoot-"; }

  std::string shoot(const std::string& body, int wait_s = 60) { return guest_shoot(agent(), body, wait_s); }
  void shoot_in_background(const std::string& body, const std::string& tag) {
    guest_shoot_in_background(agent(), body, tag);
  }
  bool wait_streaming(const std::string& tag) { return e2e::wait_streaming(agent(), tag); }
  // Waits (bounded) until no clone runs and no process of one is left but the ready clones'.
  bool wait_idle() {
    for (int i = 0; i < 240; ++i) {
      auto stats = engine_->shoot_pool_stats();
      if (stats.at(0).in_use == 0 && instance(uri_, "web").shoots_running == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  }
  // Waits (bounded) until only the pool's ready clones are left: no clone in use or being
  // restored, one directory per ready clone, and every process of a clone one of theirs.
  // Returns what is left over otherwise.
  std::string wait_only_ready_clones() {
    std::string left;
    for (int i = 0; i < 240; ++i) {
      const auto stats = engine_->shoot_pool_stats().at(0);
      left = clones_beyond_ready(root(), stats.ready, stats.in_use || stats.restoring,
                                 std::to_string(stats.ready) + " ready, " + std::to_string(stats.restoring) +
                                     " restoring, " + std::to_string(stats.in_use) + " in use");
      if (left.empty()) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return left;
  }
  // The next shoot works, and sees the instance's volume.
  void expect_a_shoot_works(const std::string& word) {
    auto reply = shoot(R"({"command":["sh","-c","echo )" + word + R"( && ls -d /seed/storage/data"]})");
    EXPECT_THAT(reply, HasSubstr("\"exitCode\":0")) << reply;
    EXPECT_THAT(reply, HasSubstr("\"stdout\":\"" + word + "\\n/seed/storage/data\\n\"")) << reply;
  }

  std::string uri_;
  reconcile::InstanceView web_;
  std::unique_ptr<Api> api_;
};

// The value of one series in this process's /metrics exposition (0 before its first sample).
double sample_of(const std::string& series) {
  const std::string text = "\n" + metrics::global().expose();
  auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size() + 2));
}

TEST_F(ShootE2eTest, TheInstanceShootsAndTheShootWritesItsVolume) {
  EXPECT_THAT(guest_sh(agent(), "cat /run/seed/host/env").out, HasSubstr("SEED_SHOOT_URL=http://10.77.0.1:9876\n"));
  const std::string exited = R"(seed_shoots_total{outcome="exited"})";
  const std::string invalid = R"(seed_shoots_total{outcome="invalid"})";
  const std::string exec_phases = R"(seed_shoot_phase_seconds_count{tier="small",phase="exec"})";
  const double exited_before = sample_of(exited), invalid_before = sample_of(invalid),
               exec_before = sample_of(exec_phases);
  auto reply = shoot(R"({"command":["sh","-c","echo out; echo err >&2; echo from-shoot > /seed/storage/data/shot.txt; exit 7"]})");
  EXPECT_THAT(reply, HasSubstr("\"exitCode\":7")) << reply;
  EXPECT_THAT(reply, HasSubstr("\"stdout\":\"out\\n\"")) << reply;
  EXPECT_THAT(reply, HasSubstr("\"stderr\":\"err\\n\"")) << reply;
  EXPECT_THAT(guest_sh(agent(), "cat /seed/storage/data/shot.txt").out, HasSubstr("from-shoot"));
  // A bad body is one clear 400 from the listener; so is a timeout beyond the node's cap, from
  // the engine (only what reaches the engine is a shoot for the metrics).
  EXPECT_THAT(shoot(R"({"command":[]})"), HasSubstr(" 400 "));
  EXPECT_THAT(shoot(R"({"command":["true"],"timeout":999999999})"), HasSubstr(" 400 "));
  // Counted by outcome, and the shoot's phases timed (docs/shoots.md, "Metrics").
  EXPECT_EQ(sample_of(exited), exited_before + 1) << metrics::global().expose();
  EXPECT_EQ(sample_of(exec_phases), exec_before + 1) << metrics::global().expose();
  EXPECT_EQ(sample_of(invalid), invalid_before + 1) << metrics::global().expose();
}

// A client that hangs up cancels its shoot: the reply streams while the command runs (a
// heartbeat newline a second), the write after nc is gone fails, the HTTP server drops the
// stream and the engine kills the clone at once, not at the shoot's 300 s timeout.
TEST_F(ShootE2eTest, AClientThatHangsUpCancelsItsShoot) {
  // The pool's ready clone is the one the shoot takes: its directory and processes must go.
  std::string clone;
  for (const auto& e : fs::directory_iterator(root() + "/run/vm")) {
    if (e.path().filename().string().rfind("shoot-small-", 0) == 0) clone = e.path().string();
  }
  ASSERT_FALSE(clone.empty()) << "the pool has a ready clone, but no directory of one";
  shoot_in_background(R"({"command":["sleep","600"],"timeout":300000})", "slow");
  ASSERT_TRUE(wait_streaming("slow")) << guest_sh(agent(), "cat /tmp/slow.out").out;
  EXPECT_EQ(engine_->shoot_pool_stats().at(0).in_use, 1u);
  EXPECT_EQ(instance(uri_, "web").shoots_running, 1u);
  guest_sh(agent(), "kill $(cat /tmp/slow.pid)");
  // Bounded (60 s, far below the shoot's 300 s timeout), not timed.
  bool gone = false;
  for (int i = 0; i < 240 && !gone; ++i) {
    gone = engine_->shoot_pool_stats().at(0).in_use == 0 && instance(uri_, "web").shoots_running == 0 &&
           !fs::exists(clone) && processes_naming(clone + "/").empty();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(gone) << "after the hang-up: in use " << engine_->shoot_pool_stats().at(0).in_use << ", running "
                    << instance(uri_, "web").shoots_running << ", " << clone
                    << (fs::exists(clone) ? " still there" : " gone") << ", its processes: "
                    << processes_naming(clone + "/").size();
  EXPECT_EQ(instance(uri_, "web").shoots_ran, 1u);
  expect_a_shoot_works("after");
}

// A fork bomb fills its own clone, never the node: the host-side deadline ends the shoot with
// `timedOut` whatever state the guest is in, the whole clone is destroyed, and the instance,
// the pool and the next shoot carry on. (The clone's kernel may OOM-kill the exec helper
// itself; the reply is then an error instead of `timedOut`: either is one clear answer.)
TEST_F(ShootE2eTest, AForkBombEndsWithItsShootAndTheNodeCarriesOn) {
  auto reply = shoot(R"({"command":["sh","-c","f() { f | f & }; f; sleep 600"],"timeout":8000})", 120);
  EXPECT_THAT(reply, HasSubstr("HTTP/1.")) << reply;
  EXPECT_TRUE(reply.find("\"timedOut\":true") != std::string::npos || reply.find("\"error\"") != std::string::npos)
      << reply;
  EXPECT_THAT(reply, Not(HasSubstr("\"exitCode\":0"))) << reply;
  ASSERT_TRUE(wait_idle());
  wait_for_pool();
  EXPECT_EQ(wait_only_ready_clones(), "");
  EXPECT_THAT(guest_sh(agent(), "echo parent-alive").out, HasSubstr("parent-alive"));
  expect_a_shoot_works("after-bomb");
}

// A shoot that fills the instance's volume stops at the volume's size (64 MiB, a file-backed
// ext4 here: the node's own disk is untouched), gets ENOSPC like any program would, and harms
// nothing else: the instance sees its full volume, frees it, and the next shoot writes again.
TEST_F(ShootE2eTest, FillingTheVolumeStopsAtItsSizeAndHurtsOnlyThatShoot) {
  auto reply =
      shoot(R"({"command":["sh","-c","dd if=/dev/zero of=/seed/storage/data/fill bs=1M 2>&1; echo dd=$?"],"timeout":120000})",
            180);
  EXPECT_THAT(reply, HasSubstr("\"exitCode\":0")) << reply;
  EXPECT_THAT(reply, HasSubstr("No space left on device")) << reply;
  EXPECT_THAT(reply, HasSubstr("dd=1")) << reply;
  // The instance sees the file its shoot wrote, the volume full.
  auto size = guest_sh(agent(), "wc -c < /seed/storage/data/fill").out;
  ASSERT_FALSE(size.empty());
  EXPECT_GT(std::stoull(size), 40ull << 20) << size;
  EXPECT_LE(std::stoull(size), 64ull << 20) << size;
  // The backing image never grew past the volume's size.
  uintmax_t images = 0;
  for (const auto& e : fs::recursive_directory_iterator(root() + "/images")) {
    if (e.is_regular_file()) images = std::max(images, e.file_size());
  }
  EXPECT_LE(images, uintmax_t{64} << 20);
  EXPECT_THAT(guest_sh(agent(), "rm /seed/storage/data/fill && echo freed").out, HasSubstr("freed"));
  ASSERT_TRUE(wait_idle());
  auto after = shoot(R"({"command":["sh","-c","echo again > /seed/storage/data/after && cat /seed/storage/data/after"]})");
  EXPECT_THAT(after, HasSubstr("\"stdout\":\"again\\n\"")) << after;
  EXPECT_THAT(guest_sh(agent(), "cat /seed/storage/data/after").out, HasSubstr("again"));
}

// Beyond the caps, over the real listener: with one shoot at a time and no queue, a second
// shoot while the first runs gets 429 with Retry-After at once; the first is unharmed.
class ShootCapsE2eTest : public ShootE2eTest {
 protected:
  void tune(reconcile::EngineConfig::Shoots& s) override {
    s.gate.per_instance = 1;
    s.gate.node = 1;
    s.gate.queue = 0;
  }
};

TEST_F(ShootCapsE2eTest, BeyondTheCapsTheNextShootGets429WithRetryAfter) {
  shoot_in_background(R"({"command":["sh","-c","sleep 3; echo first"],"timeout":60000})", "first");
  ASSERT_TRUE(wait_streaming("first")) << guest_sh(agent(), "cat /tmp/first.out").out;
  auto refused = shoot(R"({"command":["echo","second"]})");
  EXPECT_THAT(refused, HasSubstr(" 429 ")) << refused;
  EXPECT_THAT(refused, HasSubstr("Retry-After: ")) << refused;
  EXPECT_THAT(refused, Not(HasSubstr("second\\n"))) << refused;
  // The first shoot finishes as if nothing happened (bounded wait for its status line).
  std::string first;
  for (int i = 0; i < 240 && first.find("\"exitCode\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    first = guest_sh(agent(), "cat /tmp/first.out").out;
  }
  EXPECT_THAT(first, HasSubstr("\"exitCode\":0")) << first;
  EXPECT_THAT(first, HasSubstr("first\\n")) << first;
  guest_sh(agent(), "kill $(cat /tmp/first.pid)");
  ASSERT_TRUE(wait_idle());
  expect_a_shoot_works("then");
}

}  // namespace
}  // namespace seed::e2e
