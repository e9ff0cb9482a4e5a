// A node with the tenant's way in: the engine of engine_fixture.hpp plus seedd's SSH server on
// the namespace's loopback, a tenant key, and helpers that run the real OpenSSH client and git
// inside the namespace (`git push` to Silo, `ssh <node> plant|logs|…`).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/audit_log.hpp"
#include "common/fd.hpp"
#include "common/process.hpp"
#include "engine_fixture.hpp"
#include "sshcli/server.hpp"

namespace seed::e2e {

class TenantTest : public EngineTest {
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
    start_ssh_server();
  }
  // The SSH server alone (again, after the engine was reopened); the host key stays.
  void start_ssh_server() {
    in_ns([&] {
      sshcli::ServerConfig sc;
      sc.listen_address = "127.0.0.1";
      sc.port = 0;
      sc.host_key_dir = root() + "/state/ssh";
      sc.silo_root = config_.state_dir + "/silo";
      // The session audit as seedd keeps it (its one file in the state directory).
      if (!audit_) audit_ = std::make_unique<AuditLog>(config_.state_dir + "/sessions.audit.jsonl");
      sc.audit = audit_.get();
      ssh_ = std::make_unique<sshcli::Server>();
      auto s = ssh_->start(sc, *engine_);
      ASSERT_TRUE(s) << s.error().describe();
    });
  }
  // `ssh <node> <words...>` with the tenant's key, as the real OpenSSH client runs it.
  std::string tenant_ssh(const std::vector<std::string>& words) { return run_in_ns(ssh_argv(words)); }
  std::string ssh_command() const {
    return "ssh -i " + root() + "/key -p " + std::to_string(ssh_ ? ssh_->port() : 0) +
           " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR";
  }
  // The tenant's way in: a key, the SSH server, `git push` of the web flake to Silo as
  // my-app, `ssh node plant silo:my-app <invite>`. Returns plant's output.
  std::string push_and_plant() {
    open_engine();
    start_ssh();
    std::filesystem::create_directories(root() + "/app");
    EXPECT_TRUE(write_file_atomic(root() + "/app/.authorized_keys", *read_file(root() + "/key.pub")));
    write_flake(web_flake(""), "app");
    run_in_ns({"git", "-C", root() + "/app", "push", "-q", remote(), "main"});
    auto invite = engine_->create_invite(1, 0);
    EXPECT_TRUE(invite);
    return tenant_ssh({"plant", "silo:my-app", invite ? invite->code : ""});
  }
  std::string remote() const { return "ssh://git@127.0.0.1:" + std::to_string(ssh_->port()) + "/my-app.git"; }
  // The real OpenSSH client running one tenant command.
  std::vector<std::string> ssh_argv(const std::vector<std::string>& command) const {
    std::vector<std::string> a = {"ssh", "-i", root() + "/key", "-p", std::to_string(ssh_->port()), "-o",
                                  "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
                                  "LogLevel=ERROR", "127.0.0.1"};
    a.insert(a.end(), command.begin(), command.end());
    return a;
  }
  // Like run_in_ns, but a failing command is a result, not a test failure.
  RunResult ssh_result(const std::vector<std::string>& command) {
    SpawnOptions o;
    o.argv = {"ip", "netns", "exec", netns_->name()};
    for (const auto& w : ssh_argv(command)) o.argv.push_back(w);
    o.stdout_mode = Output::capture;
    auto r = run(o);
    EXPECT_TRUE(r) << (r ? "" : r.error().describe());
    return r ? *r : RunResult{};
  }
  // Polls `ssh node logs ARGS` until its output contains `want` (the guest writes its
  // entries while it boots); returns the last output.
  std::string logs_until(const std::vector<std::string>& args, const std::string& want) {
    std::vector<std::string> command = {"logs"};
    command.insert(command.end(), args.begin(), args.end());
    std::string out;
    for (int i = 0; i < 120 && out.find(want) == std::string::npos; ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
      out = ssh_result(command).out;
    }
    return out;
  }
  std::unique_ptr<AuditLog> audit_;  // before ssh_: it outlives the server
  std::unique_ptr<sshcli::Server> ssh_;
};

}  // namespace seed::e2e
