// A running sshcli::Server on 127.0.0.1 (random port) with a recording service, keys made by
// ssh-keygen, and one OpenSSH client config per key ("Host node" → the server), so tests run
// the real `ssh` and `git` exactly as a tenant would: `ssh -F cfg node status`,
// `git push node:my-app.git`.
#pragma once

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "common/testing/proc_counts.hpp"
#include "common/testing/temp_dir.hpp"
#include "sshcli/identity.hpp"
#include "sshcli/server.hpp"
#include "sshcli/testing/recording_service.hpp"

namespace seed::sshcli::testing {

// SpawnOptions for a short program whose stdout the test reads.
inline SpawnOptions cmd(std::vector<std::string> argv) {
  SpawnOptions o;
  o.argv = std::move(argv);
  o.stdout_mode = Output::capture;
  return o;
}
inline RunOptions within(std::chrono::seconds limit) {
  RunOptions r;
  r.timeout = limit;
  return r;
}

using seed::testing::open_fds;
using seed::testing::threads;
// Whether the thread count comes down to `limit` within a second (see proc_counts.hpp).
inline bool threads_settle_to(size_t limit) {
  return seed::testing::eventually([&] { return threads() <= limit; }, std::chrono::seconds(1));
}
// Our direct children (git-receive-pack and friends), from /proc/<pid>/stat's ppid field.
inline size_t child_processes() {
  size_t n = 0;
  std::string me = std::to_string(::getpid());
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(f)), {});
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    n += ppid == me && state != "Z";
  }
  return n;
}

class SshFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!find_executable("ssh") || !find_executable("ssh-keygen") || !find_executable("git")) {
      GTEST_SKIP() << "needs the OpenSSH client and git (scripts/install-deps installs them)";
    }
    config_.listen_address = "127.0.0.1";
    config_.port = 0;
    config_.host_key_dir = dir_.path() + "/hostkey";
    config_.silo_root = dir_.path() + "/silo";
    config_.auth_timeout = std::chrono::seconds(5);
    config_.rate_burst = 1000;
    config_.rate_per_second = 1000;
    adjust(config_);
    start();
    add_key("alice");
    add_key("bob");
  }
  void TearDown() override { server_.stop(); }

  virtual void adjust(ServerConfig&) {}

  void start() {
    auto st = server_.start(config_, service_);
    ASSERT_TRUE(st.ok()) << st.error().describe();
    std::ofstream(dir_.path() + "/known_hosts")
        << "[127.0.0.1]:" << server_.port() << " " << server_.host_key().public_line << "\n";
  }

  // ssh-keygen makes the key; a client config names the server "node".
  void add_key(const std::string& name, const std::string& type = "ed25519", const std::string& bits = "") {
    std::string key = dir_.path() + "/" + name;
    std::vector<std::string> argv = {"ssh-keygen", "-q", "-t", type, "-N", "", "-C", name + "@test", "-f", key};
    if (!bits.empty()) argv.insert(argv.end(), {"-b", bits});
    auto r = run_checked(cmd(argv));
    ASSERT_TRUE(r.ok()) << r.error().describe();
    std::ofstream(key + ".cfg") << "Host node\n  HostName 127.0.0.1\n  Port " << server_.port()
                                << "\n  User tenant\n  IdentityFile " << key
                                << "\n  IdentitiesOnly yes\n  IdentityAgent none\n  BatchMode yes\n"
                                   "  PasswordAuthentication no\n  KbdInteractiveAuthentication no\n"
                                   "  UserKnownHostsFile " << dir_.path() << "/known_hosts\n"
                                << "  StrictHostKeyChecking yes\n  LogLevel ERROR\n  ConnectTimeout 10\n";
    auto pub = read_file(key + ".pub");
    ASSERT_TRUE(pub.ok());
    keys_[name] = identity_from_openssh(*pub);
    pub_lines_[name] = *pub;
  }

  std::string cfg(const std::string& key) const { return dir_.path() + "/" + key + ".cfg"; }

  // `ssh -F <key's config> node <command>`; extra ssh options before the host.
  RunResult ssh(const std::string& key, const std::string& command, std::vector<std::string> options = {}) {
    std::vector<std::string> argv = {"ssh", "-F", cfg(key)};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("node");
    if (!command.empty()) argv.push_back(command);
    auto r = run(cmd(argv), within(std::chrono::seconds(60)));
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r.ok() ? *r : RunResult{};
  }

  // git with the key's ssh config, in `cwd`.
  RunResult git(const std::string& key, const std::string& cwd, std::vector<std::string> args) {
    std::vector<std::string> argv = {"git", "-c", "user.name=Test", "-c", "user.email=test@example.org",
                                     "-c", "init.defaultBranch=master"};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions o = cmd(argv);
    o.env = {"GIT_SSH_COMMAND=ssh -F " + cfg(key), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
             "GIT_TERMINAL_PROMPT=0"};
    o.cwd = cwd;
    auto r = run(o, within(std::chrono::seconds(120)));
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r.ok() ? *r : RunResult{};
  }

  // Waits until every session thread has ended (they end right after the client leaves).
  bool wait_idle(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (server_.active_sessions() == 0 && child_processes() == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  seed::testing::TempDir dir_;
  RecordingService service_;
  ServerConfig config_;
  Server server_;
  std::map<std::string, KeyIdentity> keys_;
  std::map<std::string, std::string> pub_lines_;
};

}  // namespace seed::sshcli::testing
