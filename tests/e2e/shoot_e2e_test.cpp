// A shoot end to end: the real engine plants a real QEMU/TCG instance with shoot on and a
// volume on the real bridge; the HTTP API runs on the bridge address as seedd starts it; the
// instance itself POSTs to $SEED_SHOOT_URL/shoot with busybox nc across its tap and the node's
// firewall; the shoot runs in a clone from the engine's pool (the hermetic guest as the shoot
// image) with the instance's volume hot-plugged, and the instance reads what the shoot wrote.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

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

}  // namespace
}  // namespace seed::e2e
