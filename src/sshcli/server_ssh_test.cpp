// The real OpenSSH client against the server: host key, authentication rules, every tenant
// command in human and --json form, `logs -f`.
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "sshcli/testing/ssh_fixture.hpp"

namespace seed::sshcli {
namespace {

using nlohmann::json;
using testing::make_source;

class ServerSshTest : public testing::SshFixture {
 protected:
  void plant_sources() {
    service_.add_source(make_source("github:alice/app", "s-aaaaaaaaaaaa", {"web", "db"}));
    service_.add_source(make_source("github:alice/blog", "s-bbbbbbbbbbbb", {"web"}));
    service_.set_authorized_keys("github:alice/app", pub_lines_["alice"]);
    service_.set_authorized_keys("github:alice/blog", "# both\n" + pub_lines_["alice"] + pub_lines_["bob"]);
    service_.set_logs("db.s-aaaaaaaaaaaa", {"booting", "ready"});
    service_.set_recipient("db.s-aaaaaaaaaaaa", "age1tpm1qdbrecipient");
  }
};

TEST_F(ServerSshTest, HostKeyIsPersistentAndItsFingerprintPublished) {
  const auto& hk = server_.host_key();
  struct stat st{};
  ASSERT_EQ(::stat(hk.private_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto keygen = run_checked(testing::cmd({"ssh-keygen", "-lf", hk.public_path}));
  ASSERT_TRUE(keygen.ok());
  EXPECT_NE(keygen->out.find(hk.fingerprint), std::string::npos) << keygen->out;
  EXPECT_EQ(*host_key_fingerprint(config_.host_key_dir), hk.fingerprint);

  std::string before = hk.fingerprint;
  config_.port = server_.port();  // the clients' configs name this port
  server_.stop();
  start();
  EXPECT_EQ(server_.host_key().fingerprint, before);
  // StrictHostKeyChecking=yes against the published key: the client accepts the server.
  auto r = ssh("alice", "help");
  EXPECT_EQ(r.status.code, 0) << r.err;
}

TEST_F(ServerSshTest, OnlyPublicKeyAuthentication) {
  auto r = ssh("alice", "help", {"-o", "PubkeyAuthentication=no", "-o", "PasswordAuthentication=yes",
                                 "-o", "KbdInteractiveAuthentication=yes", "-o", "PreferredAuthentications=password,keyboard-interactive"});
  EXPECT_EQ(r.status.code, 255);
  EXPECT_NE(r.err.find("Permission denied (publickey)"), std::string::npos) << r.err;
}

TEST_F(ServerSshTest, ShellRequestPrintsHelpAndExits) {
  auto r = ssh("alice", "", {"-T"});
  EXPECT_EQ(r.status.code, 0) << r.err;
  EXPECT_NE(r.out.find("plant <flake-uri> <invite-code>"), std::string::npos) << r.out;
  auto tty = ssh("alice", "", {"-tt"});  // a pty: lines end in CR LF for the terminal
  EXPECT_EQ(tty.status.code, 0) << tty.err;
  EXPECT_NE(tty.out.find("\r\n"), std::string::npos);
}

TEST_F(ServerSshTest, EveryCommandHumanAndJson) {
  plant_sources();
  auto status = ssh("alice", "status");
  EXPECT_EQ(status.status.code, 0) << status.err;
  EXPECT_NE(status.out.find("github:alice/app"), std::string::npos);
  EXPECT_NE(status.out.find("web.s-aaaaaaaaaaaa.seed.test"), std::string::npos);
  auto sj = ssh("alice", "status --json");
  ASSERT_EQ(sj.status.code, 0) << sj.err;
  EXPECT_EQ(json::parse(sj.out)["sources"].size(), 2u);
  auto one = ssh("alice", "status app --json");
  EXPECT_EQ(json::parse(one.out)["sources"][0]["source"], "github:alice/app");

  auto logs = ssh("alice", "logs db");
  EXPECT_EQ(logs.status.code, 0);
  EXPECT_EQ(logs.out, "booting\nready\n");
  auto lj = ssh("alice", "logs app/db --json --lines 1");
  EXPECT_EQ(json::parse(lj.out)["lines"], json::array({"ready"}));

  auto keys = ssh("alice", "keys db");
  EXPECT_EQ(keys.out, "age1tpm1qdbrecipient\n");
  EXPECT_EQ(json::parse(ssh("alice", "keys db --json").out)["recipient"], "age1tpm1qdbrecipient");

  auto restart = ssh("alice", "restart app/web");
  EXPECT_EQ(restart.status.code, 0) << restart.err;
  EXPECT_EQ(json::parse(ssh("alice", "restart app/web --json").out)["restarted"], true);
  EXPECT_EQ(service_.count("restart web.s-aaaaaaaaaaaa"), 2u);

  auto help = ssh("alice", "help --json");
  EXPECT_EQ(json::parse(help.out)["commands"].size(), 9u);

  // exec reaches the service only for a key the repo lists; this service has no VMs (the
  // real command runs in tests/e2e/exec_e2e_test.cpp), so it answers unavailable.
  auto exec = ssh("alice", "exec app/web -- uname -a");
  EXPECT_EQ(exec.status.code, 5) << exec.err;
  EXPECT_NE(exec.err.find("no exec for web on this service"), std::string::npos) << exec.err;
  auto stranger = ssh("bob", "exec app/web -- uname -a");  // bob is not in app's keys
  EXPECT_EQ(stranger.status.code, 4) << stranger.err;
  EXPECT_EQ(stranger.err.find("no exec"), std::string::npos) << stranger.err;

  service_.set_authorized_keys("github:alice/new", pub_lines_["alice"]);
  service_.set_plant_result("github:alice/new", make_source("github:alice/new", "s-nnnnnnnnnnnn", {"site"}));
  service_.add_invite("inv-1", 1, 0);
  auto plant = ssh("alice", "plant github:alice/new inv-1");
  EXPECT_EQ(plant.status.code, 0) << plant.err;
  EXPECT_NE(plant.out.find("[build] build github:alice/new"), std::string::npos) << plant.out;
  EXPECT_NE(plant.out.find("site.s-nnnnnnnnnnnn.seed.test"), std::string::npos) << plant.out;
  auto again = ssh("alice", "plant github:alice/other inv-1 --json");
  EXPECT_EQ(again.status.code, 3);
}

TEST_F(ServerSshTest, ErrorsAreOneStderrLineWithAnExitCode) {
  plant_sources();
  auto unknown = ssh("alice", "frobnicate");
  EXPECT_EQ(unknown.status.code, 2);
  EXPECT_EQ(std::count(unknown.err.begin(), unknown.err.end(), '\n'), 1) << unknown.err;
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos);

  auto ambiguous = ssh("alice", "logs web");
  EXPECT_EQ(ambiguous.status.code, 2);
  EXPECT_NE(ambiguous.err.find("app/web"), std::string::npos) << ambiguous.err;
  auto aj = ssh("alice", "logs web --json");
  EXPECT_EQ(json::parse(aj.out)["error"]["code"], "invalid_argument");

  // bob is listed only in blog: "web" is not ambiguous for him, and app is invisible.
  EXPECT_EQ(ssh("bob", "logs web").status.code, 0);
  EXPECT_EQ(ssh("bob", "restart app/db").status.code, 4);
  EXPECT_EQ(json::parse(ssh("bob", "status --json").out)["sources"].size(), 1u);
  EXPECT_EQ(service_.count("restart"), 0u);
}

TEST_F(ServerSshTest, StrangerSeesNothingAndRestartsNothing) {
  plant_sources();
  add_key("mallory");
  auto s = ssh("mallory", "status --json");
  EXPECT_EQ(s.status.code, 0);
  EXPECT_TRUE(json::parse(s.out)["sources"].empty());
  auto h = ssh("mallory", "status");
  EXPECT_NE(h.out.find(keys_["mallory"].fingerprint), std::string::npos) << h.out;  // tells them which key
  for (const char* cmd : {"restart db", "restart app/db", "logs db", "keys db"}) {
    EXPECT_EQ(ssh("mallory", cmd).status.code, 4) << cmd;
  }
  EXPECT_EQ(service_.count("restart"), 0u);
}

TEST_F(ServerSshTest, LogsFollowStreamsUntilTheClientLeaves) {
  plant_sources();
  size_t fds = testing::open_fds();
  size_t tasks = testing::threads();
  {
  auto client = spawn(testing::cmd({"ssh", "-F", cfg("alice"), "node", "logs db -f --lines 1"}));
  ASSERT_TRUE(client.ok());
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (service_.followers() == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(service_.followers(), 1);
  service_.append_log("db.s-aaaaaaaaaaaa", "fresh line\n");
  std::string got;
  char buf[256];
  while (got.find("fresh line\n") == std::string::npos && std::chrono::steady_clock::now() < until) {
    ssize_t n = ::read(client->stdout_pipe().get(), buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(got, "ready\nfresh line\n");
  client->terminate(std::chrono::milliseconds(500));  // the client disconnects mid-follow
  while (service_.followers() != 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(service_.followers(), 0);
  }
  EXPECT_TRUE(wait_idle());
  EXPECT_LE(testing::open_fds(), fds);
  EXPECT_TRUE(testing::threads_settle_to(tasks)) << testing::threads() << " > " << tasks;  // no session thread or worker left
}

}  // namespace
}  // namespace seed::sshcli
