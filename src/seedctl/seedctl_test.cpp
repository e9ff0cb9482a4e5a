// Every seedctl command, human and --json, through the real binary and a real ControlServer.
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reconcile/service_json.hpp"
#include "seedctl/testing/seedctl_fixture.hpp"

namespace seed::seedctl::testing {
namespace {

using reconcile::InstanceState;
using reconcile::InstanceView;
using reconcile::SourceView;

SourceView make_source(const std::string& uri, const std::string& ns, std::vector<std::string> names) {
  SourceView s;
  s.record.canonical = uri;
  s.record.ns = ns;
  s.record.nix_ref = uri;
  s.record.planted_by = "seedctl";
  s.record.planted_at = 1800000000;
  for (const auto& n : names) {
    InstanceView i;
    i.id = {ns, n};
    i.source = uri;
    i.state = InstanceState::running;
    i.generation = "g" + n;
    i.dns_names = {n + "." + ns + ".seed.example.org"};
    i.ipv4 = "10.100.0.2";
    s.instances.push_back(i);
  }
  return s;
}

class SeedctlCommands : public SeedctlTest {
 protected:
  void SetUp() override {
    SeedctlTest::SetUp();
    service_.sources = {make_source("github:a/app", "aaaa", {"web", "db"}),
                        make_source("git+file:///srv/b", "bbbb", {"web", "worker"})};
    service_.sources[1].instances[1].failure = reconcile::Failure{"boot", "kernel panic", 1};
    start();
  }
  nlohmann::json json_of(const RunResult& r) {
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }
};

TEST_F(SeedctlCommands, StatusHumanAndJson) {
  auto human = seedctl({"status"});
  EXPECT_EQ(human.status.code, 0) << human.err;
  EXPECT_EQ(human.out, reconcile::status_text(service_.sources));
  EXPECT_NE(human.out.find("error [boot]: kernel panic"), std::string::npos);

  auto json = seedctl({"status", "--json"});
  EXPECT_EQ(json.status.code, 0) << json.err;
  EXPECT_EQ(json_of(json), reconcile::status_json(service_.sources));

  auto one = seedctl({"status", "git+file:///srv/b", "--json"});
  EXPECT_EQ(one.status.code, 0) << one.err;
  auto j = json_of(one);
  ASSERT_EQ(j["sources"].size(), 1u);
  EXPECT_EQ(j["sources"][0]["namespace"], "bbbb");
  EXPECT_EQ(service_.calls().back(), "status git+file:///srv/b");
}

TEST_F(SeedctlCommands, StatusOfUnknownSourceFailsWithStageAndHint) {
  auto r = seedctl({"status", "github:nobody/none"});
  EXPECT_EQ(r.status.code, 4);  // not_found
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("seedctl: status: source github:nobody/none is not planted\n", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("hint: `seedctl status` lists"), std::string::npos) << r.err;
}

TEST_F(SeedctlCommands, PlantStreamsProgressBeforeTheResult) {
  service_.plant_progress = {{"fetch", "fetching github:me/new"}, {"eval", "evaluating seeds"},
                             {"build", "building web"}, {"done", "web is running"}};
  service_.hold_plant();
  Child child = spawn_seedctl({"plant", "github:me/new"});
  std::string seen;
  // The first line arrives while plant() is still blocked inside the service: it streams.
  ASSERT_TRUE(read_until(child, seen, "[fetch] fetching github:me/new\n")) << seen;
  EXPECT_EQ(seen.find("[eval]"), std::string::npos);
  service_.release_plant();
  ASSERT_TRUE(read_until(child, seen, "planted ")) << seen;
  auto status = child.wait(std::chrono::seconds(10));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->code, 0);
  read_until(child, seen, "\n  web", std::chrono::seconds(1));
  size_t fetch = seen.find("[fetch]"), eval = seen.find("[eval]"), build = seen.find("[build] building web"),
         done = seen.find("[done]"), result = seen.find("planted github:a/app");
  EXPECT_LT(fetch, eval);
  EXPECT_LT(eval, build);
  EXPECT_LT(build, done);
  EXPECT_LT(done, result);
  EXPECT_NE(result, std::string::npos) << seen;
  EXPECT_EQ(service_.calls().front(), "plant github:me/new by seedctl");
}

TEST_F(SeedctlCommands, PlantJsonKeepsProgressOffStdout) {
  service_.plant_progress = {{"eval", "evaluating seeds"}};
  auto r = seedctl({"plant", "github:me/new", "--json"});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_EQ(json_of(r), reconcile::to_json(service_.sources.front()));
  EXPECT_EQ(r.err, "[eval] evaluating seeds\n");
}

TEST_F(SeedctlCommands, PlantFailureShowsTheServiceStage) {
  service_.errors["plant"] = make_error(Errc::process_failed, "error: attribute 'seeds' missing")
                                 .with("stage", "eval")
                                 .with("hint", "export seeds.<name> from the flake");
  auto r = seedctl({"plant", "github:me/broken"});
  EXPECT_EQ(r.status.code, 1);  // process_failed
  EXPECT_EQ(r.err, "seedctl: eval: error: attribute 'seeds' missing\nhint: export seeds.<name> from the flake\n");
}

TEST_F(SeedctlCommands, LogsByEachSpelling) {
  service_.log_lines = {"one", "two", "three"};
  auto r = seedctl({"logs", "worker", "--lines", "2"});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_EQ(r.out, "two\nthree\n");
  EXPECT_EQ(service_.calls().back(), "logs worker.bbbb 2");

  auto json = seedctl({"logs", "web.aaaa", "--json"});
  EXPECT_EQ(json.status.code, 0) << json.err;
  auto doc = json_of(json);
  EXPECT_EQ(doc["instance"], "web.aaaa");
  EXPECT_EQ(doc["lines"], (nlohmann::json{"one", "two", "three"}));
  ASSERT_EQ(doc["entries"].size(), 3u);
  EXPECT_EQ(doc["entries"][2]["message"], "three");
  EXPECT_EQ(doc["entries"][2]["source"], "console");
  EXPECT_EQ(service_.calls().back(), "logs web.aaaa 100");

  // The filters travel to the service; --since is resolved by seedctl.
  EXPECT_EQ(seedctl({"logs", "web.aaaa", "--unit", "nginx", "--boot", "-1"}).status.code, 0);
  EXPECT_EQ(service_.calls().back(), "logs web.aaaa 100 unit=nginx boot=-1");
  auto bad = seedctl({"logs", "web.aaaa", "--since", "soon"});
  EXPECT_EQ(bad.status.code, 2);
  EXPECT_NE(bad.err.find("--since takes"), std::string::npos) << bad.err;

  EXPECT_EQ(seedctl({"logs", "git+file:///srv/b/web"}).status.code, 0);
  EXPECT_EQ(service_.calls().back(), "logs web.bbbb 100");
}

TEST_F(SeedctlCommands, AmbiguousInstanceListsTheCandidates) {
  auto r = seedctl({"restart", "web"});
  EXPECT_EQ(r.status.code, 2);  // invalid_argument: name it fully, as `ssh <node> restart web` says too
  EXPECT_EQ(r.err.rfind("seedctl: resolve: \"web\" is ambiguous: web.aaaa (github:a/app), web.bbbb (git+file:///srv/b)\n", 0), 0u)
      << r.err;
  EXPECT_NE(r.err.find("hint: name it as name.namespace or source/name"), std::string::npos);
  for (const auto& c : service_.calls()) EXPECT_EQ(c.rfind("restart", 0), std::string::npos) << c;
}

TEST_F(SeedctlCommands, LogsFollowStreamsUntilTheClientLeaves) {
  service_.log_lines = {"old line"};
  Child child = spawn_seedctl({"logs", "worker", "-f", "--lines", "1"});
  std::string seen;
  ASSERT_TRUE(read_until(child, seen, "old line\n")) << seen;
  ASSERT_TRUE(eventually([&] { return service_.following(); }));
  service_.feed("appended one\n");
  ASSERT_TRUE(read_until(child, seen, "appended one\n")) << seen;
  service_.feed("partial ");
  service_.feed("and the rest\n");
  ASSERT_TRUE(read_until(child, seen, "partial and the rest\n")) << seen;
  EXPECT_EQ(server_->active_clients(), 1u);
  child.terminate();  // the operator's ^C
  EXPECT_TRUE(eventually([&] { return service_.follow_ended_by_cancel(); })) << "the server never noticed the hang-up";
  EXPECT_TRUE(eventually([&] { return server_->active_clients() == 0; })) << "the worker did not end";
  EXPECT_FALSE(service_.following());
}

TEST_F(SeedctlCommands, LogsFollowJsonPrintsDataLines) {
  Child child = spawn_seedctl({"logs", "db", "-f", "--json"});
  ASSERT_TRUE(eventually([&] { return service_.following(); }));
  service_.feed("x\n");
  std::string seen;
  ASSERT_TRUE(read_until(child, seen, "{\"data\":\"x\\n\"}\n")) << seen;
  child.terminate();
  EXPECT_TRUE(eventually([&] { return service_.follow_ended_by_cancel(); }));
}

TEST_F(SeedctlCommands, RestartHumanJsonAndFailure) {
  auto r = seedctl({"restart", "db"});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_EQ(r.out, "restarted db.aaaa\n");
  EXPECT_EQ(service_.calls().back(), "restart db.aaaa");
  auto j = seedctl({"restart", "db", "--json"});
  EXPECT_EQ(json_of(j), (nlohmann::json{{"instance", "db.aaaa"}, {"restarted", true}}));

  service_.errors["restart"] = make_error(Errc::unavailable, "qemu exited at once").with("stage", "boot");
  auto f = seedctl({"restart", "db"});
  EXPECT_EQ(f.status.code, 5);  // unavailable: retry later
  EXPECT_EQ(f.err, "seedctl: boot: qemu exited at once\nhint: check seedd's log: journalctl -u seedd\n");

  // issue 12 item 8: a conflict that has nothing to do with names (here the vTPM's) was
  // answered with "name it unambiguously"; an error without a hint of its own gets one that
  // fits any error of its code.
  service_.errors["restart"] = make_error(Errc::conflict, "the vTPM state of instance aaaa.db is unusable").with("stage", "tpm");
  auto c = seedctl({"restart", "db"});
  EXPECT_EQ(c.status.code, 6);  // conflict (common/exit_code.hpp)
  EXPECT_EQ(c.err.find("unambiguous"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("hint: details are in seedd's log: journalctl -u seedd"), std::string::npos) << c.err;
}

TEST_F(SeedctlCommands, Unplant) {
  auto r = seedctl({"unplant", "github:a/app"});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_NE(r.out.find("volumes kept"), std::string::npos);
  EXPECT_EQ(service_.calls().back(), "unplant github:a/app");
  auto j = seedctl({"unplant", "github:a/app", "--json"});
  EXPECT_EQ(json_of(j), (nlohmann::json{{"source", "github:a/app"}, {"unplanted", true}}));
}

TEST_F(SeedctlCommands, QuarantineListAndClear) {
  EXPECT_EQ(seedctl({"quarantine", "list"}).out, "nothing is quarantined\n");
  service_.quarantine = {{"/nix/store/abc-web", "web.aaaa", "not healthy in 60 s", 1800086400}};
  auto human = seedctl({"quarantine", "list"});
  EXPECT_EQ(human.out, "web.aaaa  until 2027-01-16 08:00 UTC  /nix/store/abc-web\n  not healthy in 60 s\n");
  auto json = seedctl({"quarantine", "list", "--json"});
  EXPECT_EQ(json_of(json), (nlohmann::json{{"schema", 1},
                                           {"quarantine", {{{"toplevel", "/nix/store/abc-web"}, {"instance", "web.aaaa"},
                                                            {"reason", "not healthy in 60 s"}, {"until", 1800086400}}}}}));

  service_.quarantine_cleared = 1;
  auto one = seedctl({"quarantine", "clear", "/nix/store/abc-web"});
  EXPECT_EQ(one.status.code, 0) << one.err;
  EXPECT_EQ(service_.calls().back(), "quarantine_clear /nix/store/abc-web");
  service_.quarantine_cleared = 3;
  auto all = seedctl({"quarantine", "clear", "--all", "--json"});
  EXPECT_EQ(json_of(all), (nlohmann::json{{"cleared", 3}}));
  EXPECT_EQ(service_.calls().back(), "quarantine_clear *");
  service_.quarantine_cleared = 0;
  auto none = seedctl({"quarantine", "clear", "/nix/store/zzz"});
  EXPECT_EQ(none.status.code, 4);  // not_found
  EXPECT_EQ(none.err.rfind("seedctl: quarantine: /nix/store/zzz is not quarantined\n", 0), 0u) << none.err;
}

TEST_F(SeedctlCommands, InviteCreate) {
  int64_t before = ::time(nullptr);
  auto j = seedctl({"invite", "create", "--uses", "3", "--expires", "7d", "--json"});
  EXPECT_EQ(j.status.code, 0) << j.err;
  auto v = json_of(j);
  EXPECT_EQ(v["code"], "seed-invite-1");
  EXPECT_EQ(v["uses_left"], 3);
  int64_t expires = v["expires_at"].get<int64_t>();
  EXPECT_GE(expires, before + 7 * 86400);
  EXPECT_LE(expires, ::time(nullptr) + 7 * 86400);
  auto human = seedctl({"invite", "create"});
  EXPECT_EQ(human.out, "seed-invite-1\n  1 use, expires never\n  a tenant plants with: ssh <node> plant <uri> seed-invite-1\n");
  EXPECT_EQ(service_.calls().back(), "create_invite 1 0");
}

TEST_F(SeedctlCommands, SshHostKeyFingerprint) {
  auto missing = seedctl({"ssh-host-key"});
  EXPECT_EQ(missing.status.code, 4);  // not_found: no key file yet
  EXPECT_NE(missing.err.find("seedctl: ssh-host-key: "), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("hint: "), std::string::npos) << missing.err;

  ::mkdir((dir_.path() + "/state").c_str(), 0700);
  ::mkdir((dir_.path() + "/state/ssh").c_str(), 0700);
  // A key and the fingerprint `ssh-keygen -lf` printed for it.
  std::ofstream(config_.ssh_host_key_path)
      << "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAwh4boBQiW3Zhqgneapkayf4TKd90vhGRCMZQmwtgfP root@node\n";
  auto r = seedctl({"ssh-host-key"});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_EQ(r.out, "SHA256:AlbVFh4qu8WUIGLU0eJpCjADI4E1k7YukOROnXXdicI (ssh-ed25519)\n");
  auto j = seedctl({"ssh-host-key", "--json"});
  EXPECT_EQ(json_of(j)["fingerprint"], "SHA256:AlbVFh4qu8WUIGLU0eJpCjADI4E1k7YukOROnXXdicI");
}

// `seedctl ca` prints the internal CA's root exactly as seedd wrote it (so `> root.pem`
// exports it), --json adds where it lives; without a root it is not_found with a hint. The
// root's content here is a stand-in: the e2e test (tests/e2e/acme_e2e_test.cpp) checks that the
// root it prints verifies the certificates the real seedd issues.
TEST_F(SeedctlCommands, CaPrintsTheInternalRootOrSaysWhyThereIsNone) {
  auto missing = seedctl({"ca"});
  EXPECT_EQ(missing.status.code, 4) << missing.err;  // not_found
  EXPECT_NE(missing.err.find("seedctl: ca: this node has no internal CA root"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("acme.upstream = \"internal\""), std::string::npos) << missing.err;

  const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIBstand+in\n-----END CERTIFICATE-----\n";
  std::ofstream(config_.ca_root_path) << pem;
  auto r = seedctl({"ca"});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_EQ(r.out, pem);
  auto j = seedctl({"ca", "--json"});
  EXPECT_EQ(json_of(j)["pem"], pem);
  EXPECT_EQ(json_of(j)["path"], config_.ca_root_path);
}

// `seedctl sessions` lists the session audit seedd keeps (a real AuditLog on a file): a finished
// exec with its exit code, a console still open; without an audit it says so. The e2e test
// (tests/e2e/exec_e2e_test.cpp) checks that real exec sessions land in it.
TEST_F(SeedctlCommands, SessionsListsTheAudit) {
  auto none = seedctl({"sessions"});
  EXPECT_EQ(none.status.code, 5) << none.err;  // unavailable: this server was given no audit
  EXPECT_NE(none.err.find("seedctl: sessions: this seedd keeps no session audit"), std::string::npos) << none.err;

  AuditLog audit(dir_.path() + "/sessions.audit.jsonl");
  const uint64_t exec = audit.begin("exec", "SHA256:tenant", "web.aaaa", R"(["uname","-a"])");
  audit.end(exec, 3);
  audit.begin("console", "SHA256:other", "db.aaaa", "term=xterm");
  server_.reset();
  config_.audit = &audit;
  start();

  auto r = seedctl({"sessions"});
  ASSERT_EQ(r.status.code, 0) << r.err;
  EXPECT_NE(r.out.find(R"(  exec  web.aaaa  SHA256:tenant  ["uname","-a"]  exit 3 after 0 s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  console  db.aaaa  SHA256:other  term=xterm  open"), std::string::npos) << r.out;
  auto j = json_of(seedctl({"sessions", "--json"}));
  ASSERT_EQ(j["sessions"].size(), 2u) << j.dump();
  EXPECT_EQ(j["sessions"][0]["kind"], "exec");
  EXPECT_EQ(j["sessions"][0]["key"], "SHA256:tenant");
  EXPECT_EQ(j["sessions"][0]["exit"], 3);
  EXPECT_TRUE(j["sessions"][1]["ended_ms"].is_null());
  EXPECT_TRUE(j["sessions"][1]["exit"].is_null());
  server_.reset();  // before the audit goes
}

// `seedctl shoots` shows the pool as the engine reports it (the engine's side, real clones,
// is ShootPoolTest.* and the shoot-e2e suite): node-wide counts against the caps, per tier
// its template state (with the error of a failed one) and its clones; shoots off is no error.
TEST_F(SeedctlCommands, ShootsShowsThePoolAndTemplateErrors) {
  auto off = seedctl({"shoots"});
  ASSERT_EQ(off.status.code, 0) << off.err;
  EXPECT_EQ(off.out, "shoots are off on this node (seedd.json: shoot.image)\n");
  EXPECT_EQ(json_of(seedctl({"shoots", "--json"}))["enabled"], false);

  reconcile::ShootPoolView& v = service_.shoot_pool_view;
  v.enabled = true;
  v.vms = 3;
  v.max_vms = 8;
  v.memory_mib = 768;
  v.max_memory_mib = 2048;
  v.queued = 1;
  reconcile::ShootTierView small;
  small.name = "small";
  small.vcpus = 1;
  small.memory_mib = 256;
  small.target = 2;
  small.template_state = "ready";
  small.template_origin = "reused";
  small.ready = 1;
  small.restoring = 1;
  small.running = 1;
  small.restores = 7;
  small.served = 5;
  small.waits = 2;
  reconcile::ShootTierView big = small;
  big.name = "big";
  big.memory_mib = 4096;
  big.template_state = "failed";
  big.template_error = "the template did not answer on its agent channel";
  big.ready = big.restoring = big.running = 0;
  big.restores = big.served = big.waits = 0;
  v.tiers = {small, big};

  auto r = seedctl({"shoots"});
  ASSERT_EQ(r.status.code, 0) << r.err;
  EXPECT_NE(r.out.find("shoot VMs 3/8, memory 768/2048 MiB, queued 1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("small         1     256  reused     1/2           1        1         7       5      2\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("big           1    4096  failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  template of big failed: the template did not answer on its agent channel\n"),
            std::string::npos)
      << r.out;
  auto j = json_of(seedctl({"shoots", "--json"}));
  EXPECT_EQ(j["enabled"], true);
  EXPECT_EQ(j["vms"], 3);
  EXPECT_EQ(j["max_vms"], 8);
  EXPECT_EQ(j["memory_mib"], 768);
  EXPECT_EQ(j["max_memory_mib"], 2048);
  EXPECT_EQ(j["queued"], 1);
  ASSERT_EQ(j["tiers"].size(), 2u) << j.dump();
  EXPECT_EQ(j["tiers"][0]["name"], "small");
  EXPECT_EQ(j["tiers"][0]["template"], "ready");
  EXPECT_EQ(j["tiers"][0]["template_origin"], "reused");
  EXPECT_EQ(j["tiers"][0]["ready"], 1);
  EXPECT_EQ(j["tiers"][0]["target"], 2);
  EXPECT_EQ(j["tiers"][0]["restoring"], 1);
  EXPECT_EQ(j["tiers"][0]["running"], 1);
  EXPECT_EQ(j["tiers"][0]["served"], 5);
  EXPECT_EQ(j["tiers"][0]["waits"], 2);
  EXPECT_EQ(j["tiers"][1]["template"], "failed");
  EXPECT_EQ(j["tiers"][1]["template_error"], "the template did not answer on its agent channel");

  service_.errors.emplace("shoot_pool", make_error(Errc::unavailable, "seedd is stopping"));
  auto failed = seedctl({"shoots"});
  EXPECT_EQ(failed.status.code, 5) << failed.err;
  EXPECT_NE(failed.err.find("seedctl: shoots: seedd is stopping"), std::string::npos) << failed.err;
}

TEST_F(SeedctlCommands, UsageErrorsExitTwoWithoutCallingSeedd) {
  size_t calls = service_.calls().size();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {}, {"reboot"}, {"logs"}, {"status", "--lines", "2"}, {"invite", "create", "--expires", "later"}}) {
    auto r = seedctl(args);
    EXPECT_EQ(r.status.code, 2) << ::testing::PrintToString(args);
    EXPECT_NE(r.err.find("usage: seedctl"), std::string::npos) << r.err;
  }
  EXPECT_EQ(service_.calls().size(), calls);
  auto help = seedctl({"--help"});
  EXPECT_EQ(help.status.code, 0);
  EXPECT_NE(help.out.find("Exit codes"), std::string::npos);
}

TEST_F(SeedctlCommands, UnreachableSeeddExitsFiveNamingTheSocket) {
  auto r = run(captured({seedctl_path(), "--socket", dir_.path() + "/nobody.sock", "status"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.code, 5);  // unavailable: retry later
  EXPECT_NE(r->err.find("cannot reach seedd at " + dir_.path() + "/nobody.sock"), std::string::npos) << r->err;
  EXPECT_NE(r->err.find("seedd must be running"), std::string::npos) << r->err;
}

}  // namespace
}  // namespace seed::seedctl::testing
