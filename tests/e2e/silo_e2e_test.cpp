// Silo and the tenant SSH interface on the real engine: a tenant pushes a flake with plain
// `git push` over SSH, plants it with an invite (`ssh node plant silo:NAME CODE`), the instance
// serves; a later push alone (no webhook) leads to the new generation running.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "engine_fixture.hpp"
#include "sshcli/server.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class SiloTest : public EngineTest {
 protected:
  void TearDown() override {
    if (ssh_) ssh_->stop();
    EngineTest::TearDown();
  }
  // A command inside the namespace; returns stdout, fails the test on a non-zero exit.
  std::string run_in_ns(const std::vector<std::string>& argv) {
    std::vector<std::string> full = {"ip", "netns", "exec", netns_->name(), "env", "GIT_SSH_COMMAND=" + ssh_command()};
    full.insert(full.end(), argv.begin(), argv.end());
    SpawnOptions o;
    o.argv = full;
    o.stdout_mode = Output::capture;
    auto r = run(o);
    EXPECT_TRUE(r) << (r ? "" : r.error().describe());
    if (!r) return "";
    EXPECT_TRUE(r->status.success()) << argv[0] << " failed: " << r->err;
    return r->out;
  }
  // A tenant key (<root>/key) and the SSH front end on the namespace's loopback.
  void start_ssh() {
    SpawnOptions keygen;
    keygen.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", root() + "/key"};
    ASSERT_TRUE(run_checked(keygen));
    in_ns([&] {
      sshcli::ServerConfig sc;
      sc.listen_address = "127.0.0.1";
      sc.port = 0;
      sc.host_key_dir = root() + "/state/ssh";
      sc.silo_root = config_.state_dir + "/silo";
      ssh_ = std::make_unique<sshcli::Server>();
      auto s = ssh_->start(sc, *engine_);
      ASSERT_TRUE(s) << s.error().describe();
    });
  }
  // `ssh <node> <words...>` with the tenant's key, as the real OpenSSH client runs it.
  std::string tenant_ssh(const std::vector<std::string>& words) {
    std::vector<std::string> argv = {"ssh", "-i", root() + "/key", "-p", std::to_string(ssh_->port()), "-o",
                                     "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
                                     "LogLevel=ERROR", "127.0.0.1"};
    argv.insert(argv.end(), words.begin(), words.end());
    return run_in_ns(argv);
  }
  std::string ssh_command() const {
    return "ssh -i " + root() + "/key -p " + std::to_string(ssh_ ? ssh_->port() : 0) +
           " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR";
  }
  std::unique_ptr<sshcli::Server> ssh_;
};

TEST_F(SiloTest, PushPlantServePushAgainNewGenerationRuns) {
  open_engine();
  start_ssh();
  ASSERT_TRUE(ssh_);

  // The tenant's repository: the flake and .authorized_keys with their key.
  fs::create_directories(root() + "/app");
  ASSERT_TRUE(write_file_atomic(root() + "/app/.authorized_keys", *read_file(root() + "/key.pub")));
  write_flake(web_flake(""), "app");
  const std::string remote = "ssh://git@127.0.0.1:" + std::to_string(ssh_->port()) + "/my-app.git";
  run_in_ns({"git", "-C", root() + "/app", "push", "-q", remote, "main"});

  auto invite = engine_->create_invite(1, 0);
  ASSERT_TRUE(invite);
  const std::string planted = tenant_ssh({"plant", "silo:my-app", invite->code});
  auto web = in_ns([&] { return instance("silo:my-app", "web"); });
  ASSERT_EQ(web.state, reconcile::InstanceState::running);
  EXPECT_THAT(planted, HasSubstr(web.dns_names.front()));
  const std::string gen1 = web.generation;
  EXPECT_THAT(http_get("http://127.0.0.1:8000/instance.json", web.dns_names.front()), HasSubstr(gen1));

  // A push alone redeploys: no webhook, no plant.
  write_flake(web_flake("", "seed.pushed=1"), "app");
  run_in_ns({"git", "-C", root() + "/app", "push", "-q", remote, "main"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    web = in_ns([&] { return instance("silo:my-app", "web"); });
    if (web.generation != gen1 && web.state == reconcile::InstanceState::running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_NE(web.generation, gen1) << "the push did not lead to a new generation";
  EXPECT_THAT(http_get("http://127.0.0.1:8000/instance.json", web.dns_names.front()), HasSubstr(web.generation));
  // `ssh node status --json` shows it to the tenant.
  const std::string status = tenant_ssh({"status", "--json"});
  EXPECT_THAT(status, HasSubstr(web.generation));
}

// Issue 13.2: a source outside Silo. Its .authorized_keys is read through `nix flake
// metadata` (Engine::authorized_keys), which refused Seed's own flags, so such a plant always
// failed and the source was hidden from `status`.
TEST_F(SiloTest, GitFileSourceWithAuthorizedKeysPlantsOverSsh) {
  open_engine();
  start_ssh();
  ASSERT_TRUE(ssh_);
  fs::create_directories(root() + "/app");
  ASSERT_TRUE(write_file_atomic(root() + "/app/.authorized_keys", *read_file(root() + "/key.pub")));
  const std::string uri = write_flake(web_flake(""), "app");
  ASSERT_TRUE(uri.starts_with("git+file://"));

  auto invite = engine_->create_invite(1, 0);
  ASSERT_TRUE(invite);
  const std::string planted = tenant_ssh({"plant", uri, invite->code});
  auto web = in_ns([&] { return instance(uri, "web"); });
  ASSERT_EQ(web.state, reconcile::InstanceState::running);
  EXPECT_THAT(planted, HasSubstr(web.dns_names.front()));
  // The tenant sees it: `status` reads the same .authorized_keys.
  const std::string status = tenant_ssh({"status", "--json"});
  EXPECT_THAT(status, HasSubstr(uri));
  EXPECT_THAT(status, HasSubstr(web.generation));
}

}  // namespace
}  // namespace seed::e2e
