// A shoot end to end: the real engine plants a real QEMU/TCG instance with shoot on and a
// volume on the real bridge; the HTTP API runs on the bridge address as seedd starts it; the
// instance itself POSTs to $SEED_SHOOT_URL/shoot with busybox nc across its tap and the node's
// firewall; the shoot runs in a clone from the engine's pool (the hermetic guest as the shoot
// image) with the instance's volume hot-plugged, and the instance reads what the shoot wrote.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/process.hpp"
#include "engine_fixture.hpp"
#include "node_parts.hpp"
#include "reconcile/slot_names.hpp"
#include "seedd/api_wiring.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;
using vmm::testing::guest_sh;

const std::string kGateway = "10.77.0.1";

class ShootE2eTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (HasFatalFailure()) return;
    const std::string guest = vmm::testing::guest_dir();
    auto params = read_file(guest + "/kernel-params");
    std::string cmdline = params ? *params : "console=ttyS0";
    while (!cmdline.empty() && cmdline.back() == '\n') cmdline.pop_back();
    auto& sc = config_.shoots;
    sc.pool.dir = root() + "/run/shoot";
    sc.pool.image = {guest + "/kernel", guest + "/initrd", cmdline};
    sc.pool.tiers = {{vmm::shoot::ShootTier{"small", 1, 256}, 1}};
    sc.pool.max_vms = 2;
    sc.pool.max_memory_mib = 512;
    sc.url = guest_shoot_url(kGateway, kGuestApiPort);
    open_engine();
    uri_ = write_flake(web_flake("shoot.enable = true;"));
    in_ns([&] {
      auto planted = engine_->plant(uri_, "test", nullptr);
      ASSERT_TRUE(planted) << planted.error().describe();
      ApiSettings s;
      s.guest_address = kGateway;
      s.guest_port = kGuestApiPort;
      s.domain = "seed.test";
      s.state_dir = root() + "/state";
      s.shoots = true;
      s.limits.threads = 4;
      auto api = start_api(s, *engine_);
      ASSERT_TRUE(api) << api.error().describe();
      api_ = std::move(*api);
    });
    web_ = instance(uri_, "web");
    ASSERT_EQ(web_.state, reconcile::InstanceState::running);
    // The pool's template is built in the background: wait for it (bounded, not timed).
    for (int i = 0; i < 600; ++i) {
      auto stats = engine_->shoot_pool_stats();
      ASSERT_EQ(stats.size(), 1u);
      ASSERT_TRUE(stats[0].template_error.empty()) << stats[0].template_error;
      if (stats[0].template_ready) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  void TearDown() override {
    api_.reset();
    EngineTest::TearDown();
  }
  std::string agent() { return root() + "/run/vm/" + reconcile::slot_vm_name(web_.id, 'a') + "/agent.sock"; }
  std::string uri_;
  reconcile::InstanceView web_;
  std::unique_ptr<Api> api_;
};

TEST_F(ShootE2eTest, TheInstanceShootsAndTheShootWritesItsVolume) {
  EXPECT_THAT(guest_sh(agent(), "cat /run/seed/host/env").out, HasSubstr("SEED_SHOOT_URL=http://10.77.0.1:9876\n"));
  // busybox nc wants HOST PORT (its wget misbehaves in this guest): the URL above, split.
  const std::string body = R"({"command":["sh","-c","echo out; echo err >&2; echo from-shoot > /seed/storage/data/shot.txt; exit 7"]})";
  const std::string request = "POST /shoot HTTP/1.0\\r\\nContent-Type: application/json\\r\\nContent-Length: " +
                              std::to_string(body.size()) + "\\r\\n\\r\\n" + body;
  auto reply = guest_sh(agent(), "printf '" + request + "' | nc -w 25 10.77.0.1 9876 2>&1 | tail -1");
  EXPECT_THAT(reply.out, HasSubstr("\"exitCode\":7")) << reply.out;
  EXPECT_THAT(reply.out, HasSubstr("\"stdout\":\"out\\n\"")) << reply.out;
  EXPECT_THAT(reply.out, HasSubstr("\"stderr\":\"err\\n\"")) << reply.out;
  EXPECT_THAT(guest_sh(agent(), "cat /seed/storage/data/shot.txt").out, HasSubstr("from-shoot"));
  // A bad body is one clear 400 from the listener.
  const std::string bad = R"({"command":[]})";
  auto refused = guest_sh(agent(), "printf 'POST /shoot HTTP/1.0\\r\\nContent-Length: " + std::to_string(bad.size()) +
                                       "\\r\\n\\r\\n" + bad + "' | nc -w 25 10.77.0.1 9876 2>&1 | head -1");
  EXPECT_THAT(refused.out, HasSubstr("400")) << refused.out;
}

// A client that hangs up cancels its shoot: the reply streams while the command runs (a
// heartbeat newline a second), the write after nc is gone fails, the HTTP server drops the
// stream and the engine kills the clone at once, not at the shoot's 300 s timeout.
TEST_F(ShootE2eTest, AClientThatHangsUpCancelsItsShoot) {
  // The pool's ready clone is the one the shoot takes: its directory and processes must go.
  std::string clone;
  for (int i = 0; i < 600 && clone.empty(); ++i) {  // bounded wait for the first ready clone
    if (engine_->shoot_pool_stats().at(0).ready > 0) {
      for (const auto& e : std::filesystem::directory_iterator(root() + "/run/vm")) {
        if (e.path().filename().string().rfind("shoot-small-", 0) == 0) clone = e.path().string();
      }
    }
    if (clone.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_FALSE(clone.empty()) << "the pool never had a ready clone";
  const std::string slow = R"({"command":["sleep","600"],"timeout":300000})";
  // stdin stays open (sleep) so nc never half-closes: only the kill below ends the connection.
  guest_sh(agent(), "((printf 'POST /shoot HTTP/1.0\\r\\nContent-Length: " + std::to_string(slow.size()) +
                        "\\r\\n\\r\\n" + slow + "'; sleep 600) | nc 10.77.0.1 9876 >/tmp/slow.out 2>&1 & " +
                        "echo $! >/tmp/slow.pid) </dev/null >/dev/null 2>&1");
  auto in_use = [&] { return engine_->shoot_pool_stats().at(0).in_use; };
  bool started = false;
  for (int i = 0; i < 240 && !started; ++i) {  // bounded wait for the streamed reply's head
    started = in_use() == 1 && guest_sh(agent(), "cat /tmp/slow.out").out.find(" 200 ") != std::string::npos;
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(started) << guest_sh(agent(), "cat /tmp/slow.out").out;
  EXPECT_EQ(instance(uri_, "web").shoots_running, 1u);
  guest_sh(agent(), "kill $(cat /tmp/slow.pid)");
  // Bounded (60 s, far below the shoot's 300 s timeout), not timed.
  auto clone_processes = [&]() -> std::string {
    SpawnOptions o;
    o.argv = {"pgrep", "-af", clone + "/"};  // QEMU, virtiofsd and the logger name the clone's directory
    auto r = run(o);
    return r ? r->out : "(pgrep failed: " + r.error().describe() + ")";
  };
  bool gone = false;
  for (int i = 0; i < 240 && !gone; ++i) {
    gone = in_use() == 0 && instance(uri_, "web").shoots_running == 0 && !std::filesystem::exists(clone) &&
           clone_processes().empty();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(gone) << "after the hang-up: in use " << in_use() << ", running " << instance(uri_, "web").shoots_running
                    << ", " << clone << (std::filesystem::exists(clone) ? " still there" : " gone")
                    << ", its processes: " << clone_processes();
  EXPECT_EQ(instance(uri_, "web").shoots_ran, 1u);
  // The next shoot works.
  const std::string body = R"({"command":["echo","after"]})";
  auto next = guest_sh(agent(), "printf 'POST /shoot HTTP/1.0\\r\\nContent-Length: " + std::to_string(body.size()) +
                                    "\\r\\n\\r\\n" + body + "' | nc -w 60 10.77.0.1 9876 2>&1 | tail -1");
  EXPECT_THAT(next.out, HasSubstr("\"exitCode\":0")) << next.out;
  EXPECT_THAT(next.out, HasSubstr("\"stdout\":\"after\\n\"")) << next.out;
}

}  // namespace
}  // namespace seed::e2e
