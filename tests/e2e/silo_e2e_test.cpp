// Silo and the tenant SSH interface on the real engine: a tenant pushes a flake with plain
// `git push` over SSH, plants it with an invite (`ssh node plant silo:NAME CODE`), the instance
// serves; a later push alone (no webhook) leads to the new generation running.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "tenant_fixture.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

using SiloTest = TenantTest;

TEST_F(SiloTest, PushPlantServePushAgainNewGenerationRuns) {
  const std::string planted = push_and_plant();
  auto web = in_ns([&] { return instance("silo:my-app", "web"); });
  ASSERT_EQ(web.state, reconcile::InstanceState::running);
  EXPECT_THAT(planted, HasSubstr(web.dns_names.front()));
  const std::string gen1 = web.generation;
  EXPECT_THAT(http_get("http://127.0.0.1:8000/instance.json", web.dns_names.front()), HasSubstr(gen1));

  // A push alone redeploys: no webhook, no plant.
  write_flake(web_flake("", "seed.pushed=1"), "app");
  run_in_ns({"git", "-C", root() + "/app", "push", "-q", remote(), "main"});
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

// `ssh node logs` shows the guest's services: the test guest's init writes journal entries
// (a fake nginx unit among them) to its seed.log port; seedd's logger stores them beside the
// console lines. Real guest, real logger process, real OpenSSH client.
TEST_F(SiloTest, LogsShowTheGuestJournalFilteredByUnitBootAndJson) {
  push_and_plant();
  auto web = in_ns([&] { return instance("silo:my-app", "web"); });
  ASSERT_EQ(web.state, reconcile::InstanceState::running);

  // --unit: only that unit's entries, no console lines, no other unit.
  std::string nginx = logs_until({"web", "--unit", "nginx"}, "nginx: starting worker processes");
  EXPECT_THAT(nginx, HasSubstr("nginx.service[6]: nginx: starting worker processes"));
  EXPECT_THAT(nginx, HasSubstr("nginx.service[4]: nginx: using the fake configuration"));
  EXPECT_THAT(nginx, Not(HasSubstr("app: ready")));
  EXPECT_THAT(nginx, Not(HasSubstr("SEED-GUEST-READY")));

  // Everything: a boot marker first, console lines and journal entries interleaved.
  std::string all = logs_until({"web", "--lines", "1000"}, "ready after");
  EXPECT_THAT(all, HasSubstr("-- boot 0 "));
  EXPECT_THAT(all, HasSubstr("SEED-GUEST-READY"));
  EXPECT_THAT(all, HasSubstr("(unparsed)[6]: this line is not json"));
  EXPECT_LT(all.find("-- boot 0 "), all.find("nginx: starting worker processes"));
  EXPECT_LT(all.find("nginx: starting worker processes"), all.find("ready after"));

  // --json: one object per entry with its fields.
  auto j = nlohmann::json::parse(ssh_result({"logs", "web", "--json", "--unit", "nginx.service"}).out);
  ASSERT_GE(j["entries"].size(), 2u) << j.dump();
  const auto& first = j["entries"][0];
  EXPECT_EQ(first["source"], "journal");
  EXPECT_EQ(first["unit"], "nginx.service");
  EXPECT_EQ(first["priority"], 6);
  EXPECT_GT(first["timestamp"].get<int64_t>(), 1700000000LL * 1000000);
  EXPECT_EQ(first["boot"], 0);
  const std::string boot_id1 = first["boot_id"];
  EXPECT_EQ(boot_id1.size(), 36u) << boot_id1;  // the guest kernel's boot id

  // After a restart the previous boot is --boot -1, the new one --boot 0.
  ASSERT_EQ(ssh_result({"restart", "web"}).status.code, 0);
  // The old boot becomes -1 when the new VM's logger writes its boot marker; then wait for the
  // new guest's own entries.
  EXPECT_THAT(logs_until({"web", "--boot", "-1", "--unit", "nginx"}, "nginx: starting worker processes"),
              HasSubstr("nginx: starting worker processes"));
  EXPECT_THAT(logs_until({"web", "--boot", "0", "--unit", "nginx"}, "nginx: starting worker processes"),
              HasSubstr("nginx: starting worker processes"));
  auto previous = nlohmann::json::parse(ssh_result({"logs", "web", "--json", "--boot", "-1", "--unit", "nginx"}).out);
  ASSERT_GE(previous["entries"].size(), 2u) << previous.dump();
  EXPECT_EQ(previous["entries"][0]["boot_id"], boot_id1);
  EXPECT_EQ(previous["entries"][0]["boot"], -1);
  auto current = nlohmann::json::parse(ssh_result({"logs", "web", "--json", "--boot", "0", "--unit", "nginx"}).out);
  ASSERT_GE(current["entries"].size(), 1u) << current.dump();
  EXPECT_NE(current["entries"][0]["boot_id"], boot_id1);

  // Refusals: one clear error each, on stderr, and a failing exit code.
  auto since = ssh_result({"logs", "web", "--since", "yesterday"});
  EXPECT_NE(since.status.code, 0);
  EXPECT_THAT(since.err, HasSubstr("--since takes a duration like 30s, 10m, 1h, 2d"));
  auto unknown = ssh_result({"logs", "web", "--frobnicate"});
  EXPECT_NE(unknown.status.code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("unknown option '--frobnicate'"));
}

}  // namespace
}  // namespace seed::e2e
