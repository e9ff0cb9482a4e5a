// A shoot end to end: the real engine plants a real QEMU/TCG instance with shoot on and a
// volume on the real bridge; the HTTP API runs on the bridge address as seedd starts it; the
// instance itself POSTs to $SEED_SHOOT_URL/shoot with busybox nc across its tap and the node's
// firewall; the shoot runs in a clone from the engine's pool (the hermetic guest as the shoot
// image) with the instance's volume hot-plugged, and the instance reads what the shoot wrote.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "engine_fixture.hpp"
#include "reconcile/slot_names.hpp"
#include "shoot_node.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using vmm::testing::guest_sh;

// Each QEMU, virtiofsd and console logger of a shoot clone names the clone's directory
// (<run>/vm/shoot-<tier>-<n>/) on its command line: pid -> command line.
std::map<pid_t, std::string> processes_naming(const std::string& prefix) {
  std::map<pid_t, std::string> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto cmdline = read_file(e.path().string() + "/cmdline");
    if (!cmdline) continue;
    std::replace(cmdline->begin(), cmdline->end(), '\0', ' ');
    if (cmdline->find(prefix) != std::string::npos) out[std::stoi(name)] = *cmdline;
  }
  return out;
}

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
    // A test that stopped half-way through the kill -9 test leaves its child running or no
    // engine open: end the child and let an engine clean up its clones before the node goes.
    if (child_) {
      (void)child_->signal(SIGKILL);
      (void)child_->wait(std::chrono::seconds(30));
      child_.reset();
    }
    api_.reset();
    if (engine_closed_) open_engine();
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

  // The instance POSTs `body` and waits up to `wait_s` for the whole reply (head and body).
  std::string shoot(const std::string& body, int wait_s = 60) {
    return guest_sh(agent(), "printf '" + shoot_request(body) + "' | nc -w " + std::to_string(wait_s) + " " +
                                 kBridgeAddress + " " + std::to_string(kGuestApiPort) + " 2>&1")
        .out;
  }
  // Starts a shoot of `body` in the background inside the instance; its reply goes to
  // /tmp/<tag>.out. stdin stays open (sleep), so nc never half-closes: only its kill or the
  // server's end closes the connection.
  void shoot_in_background(const std::string& body, const std::string& tag) {
    guest_sh(agent(), "((printf '" + shoot_request(body) + "'; sleep 600) | nc " + kBridgeAddress + " " +
                          std::to_string(kGuestApiPort) + " >/tmp/" + tag + ".out 2>&1 & echo $! >/tmp/" + tag +
                          ".pid) </dev/null >/dev/null 2>&1");
  }
  // Waits (bounded) until the background shoot `tag` holds a clone: its streamed reply's head
  // arrived.
  bool wait_streaming(const std::string& tag) {
    for (int i = 0; i < 240; ++i) {
      const auto out = guest_sh(agent(), "cat /tmp/" + tag + ".out").out;
      if (out.find(" 200 ") != std::string::npos) return true;
      if (out.find(" 429 ") != std::string::npos) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  }
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
      std::set<std::string> dirs;
      for (const auto& e : fs::directory_iterator(root() + "/run/vm")) {
        if (e.path().filename().string().rfind("shoot-", 0) == 0) dirs.insert(e.path().string() + "/");
      }
      const auto stats = engine_->shoot_pool_stats().at(0);
      left = "";
      if (stats.in_use || stats.restoring || dirs.size() != stats.ready) {
        left = std::to_string(dirs.size()) + " clone directories, " + std::to_string(stats.ready) + " ready, " +
               std::to_string(stats.restoring) + " restoring, " + std::to_string(stats.in_use) + " in use";
      }
      for (const auto& [pid, cmdline] : processes_naming(clone_prefix())) {
        bool of_a_ready_clone = false;
        for (const auto& d : dirs) of_a_ready_clone = of_a_ready_clone || cmdline.find(d) != std::string::npos;
        if (!of_a_ready_clone) left += "; process " + std::to_string(pid) + ": " + cmdline;
      }
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
  std::optional<Child> child_;  // the kill -9 test's engine process
  bool engine_closed_ = false;  // the kill -9 test closed the fixture's engine
};

TEST_F(ShootE2eTest, TheInstanceShootsAndTheShootWritesItsVolume) {
  EXPECT_THAT(guest_sh(agent(), "cat /run/seed/host/env").out, HasSubstr("SEED_SHOOT_URL=http://10.77.0.1:9876\n"));
  auto reply = shoot(R"({"command":["sh","-c","echo out; echo err >&2; echo from-shoot > /seed/storage/data/shot.txt; exit 7"]})");
  EXPECT_THAT(reply, HasSubstr("\"exitCode\":7")) << reply;
  EXPECT_THAT(reply, HasSubstr("\"stdout\":\"out\\n\"")) << reply;
  EXPECT_THAT(reply, HasSubstr("\"stderr\":\"err\\n\"")) << reply;
  EXPECT_THAT(guest_sh(agent(), "cat /seed/storage/data/shot.txt").out, HasSubstr("from-shoot"));
  // A bad body is one clear 400 from the listener.
  EXPECT_THAT(shoot(R"({"command":[]})"), HasSubstr(" 400 "));
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

// kill -9 of seedd with shoots in flight: a real engine and guest listener in a process of
// their own (shoot_crash_child) run two shoots for the instance when SIGKILL ends them. The
// clones' QEMU, virtiofsds and loggers outlive it; the next engine on the node adopts the
// instance, ends every one of them and removes their directories and sockets, and shoots work.
TEST_F(ShootE2eTest, KillMinus9OfSeeddMidShootLeavesNothingAndShootsWorkAfter) {
  api_.reset();
  close_engine();  // the instance keeps running, as across a seedd restart
  engine_closed_ = true;
  const std::string ready = root() + "/child.ready";
  SpawnOptions o;
  o.argv = {"nsenter", "--net=/run/netns/" + netns_->name(), vmm::testing::build_dir() + "/tests/e2e/shoot_crash_child",
            root(), ready};
  o.stderr_mode = Output::file;
  o.stderr_file = root() + "/child.log";
  auto spawned = spawn(o);
  ASSERT_TRUE(spawned) << spawned.error().describe();
  child_.emplace(std::move(*spawned));
  auto& child = child_;
  for (int i = 0; i < 2400 && !fs::exists(ready); ++i) {  // bounded: adoption, template, a ready clone
    if (child->wait(std::chrono::milliseconds(250))) break;
  }
  auto log = read_file(root() + "/child.log");
  ASSERT_TRUE(fs::exists(ready)) << (log ? *log : "(no log)");
  shoot_in_background(R"({"command":["sleep","600"],"timeout":300000})", "a");
  ASSERT_TRUE(wait_streaming("a")) << guest_sh(agent(), "cat /tmp/a.out").out;
  // The pool (room for two VMs) is refilling behind the first shoot: until that restore is
  // done the second is refused with 429 and Retry-After, and the instance tries again as a
  // client should (bounded).
  bool second = false;
  for (int i = 0; i < 60 && !second; ++i) {
    guest_sh(agent(), "kill $(cat /tmp/b.pid 2>/dev/null) 2>/dev/null");
    shoot_in_background(R"({"command":["sleep","600"],"timeout":300000})", "b");
    second = wait_streaming("b");
    if (!second) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_TRUE(second) << guest_sh(agent(), "cat /tmp/b.out").out;
  // What the two running clones are made of, as the kill leaves them.
  const auto before = processes_naming(clone_prefix());
  unsigned dirs_before = 0;
  for (const auto& e : fs::directory_iterator(root() + "/run/vm")) {
    dirs_before += e.path().filename().string().rfind("shoot-", 0) == 0;
  }
  ASSERT_GE(dirs_before, 2u);
  std::set<std::string> clones_running;
  for (const auto& [pid, cmdline] : before) {
    if (cmdline.find("qemu-system") != std::string::npos) clones_running.insert(cmdline);
  }
  ASSERT_GE(clones_running.size(), 2u) << "two clones run the two shoots";
  ASSERT_TRUE(child->signal(SIGKILL));
  ASSERT_TRUE(child->wait(std::chrono::seconds(30)));
  child_.reset();
  unsigned outlived = 0;
  for (const auto& [pid, cmdline] : processes_naming(clone_prefix())) outlived += before.count(pid);
  std::cerr << "[ kill -9 ] " << before.size() << " clone processes ran, " << outlived << " outlived seedd\n";
  // The instance's connections ended with the process that held them.
  for (const std::string tag : {"a", "b"}) {
    EXPECT_THAT(guest_sh(agent(), "cat /tmp/" + tag + ".out").out, Not(HasSubstr("\"exitCode\"")));
  }
  open_engine();
  engine_closed_ = false;
  start_listener();
  wait_for_pool();
  EXPECT_EQ(instance(uri_, "web").state, reconcile::InstanceState::running);
  for (const auto& [pid, cmdline] : processes_naming(clone_prefix())) {
    auto old = before.find(pid);
    EXPECT_TRUE(old == before.end() || old->second != cmdline) << "left over from before the kill: " << pid << " "
                                                               << cmdline;
  }
  // Every clone directory and process now is one of the new pool's ready clones.
  EXPECT_EQ(wait_only_ready_clones(), "");
  expect_a_shoot_works("after-kill");
}

}  // namespace
}  // namespace seed::e2e
