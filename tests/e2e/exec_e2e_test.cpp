// `ssh <node> exec <instance> -- CMD` end to end: the real OpenSSH client, seedd's SSH server
// and engine, and a real QEMU test guest whose agent hands the exec port's connection to
// seed-agent-exec. One guest serves every case (a boot under TCG costs more than all of them).
#include <poll.h>
#include <signal.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "control/control_server.hpp"
#include "tenant_fixture.hpp"
#include "vmm/agent_client.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ExecTest : public TenantTest {
 protected:
  // The OpenSSH client's argv for `ssh <node> exec web -- WORDS…`, inside the namespace. ssh
  // joins its words with spaces and the node splits them again like a shell, so a word with
  // spaces is quoted as a tenant would quote it.
  std::vector<std::string> exec_argv(const std::vector<std::string>& words, const std::string& key = "") {
    std::vector<std::string> argv = {"ip", "netns", "exec", netns_->name()};
    std::vector<std::string> command = {"exec", "web", "--"};
    command.insert(command.end(), words.begin(), words.end());
    for (auto w : ssh_argv(command)) argv.push_back(w == root() + "/key" && !key.empty() ? key : w);
    return argv;
  }
  RunResult exec(const std::vector<std::string>& words, const std::string& input = "", const std::string& key = "") {
    SpawnOptions o;
    o.argv = exec_argv(words, key);
    o.stdout_mode = Output::capture;
    RunOptions limits;
    limits.timeout = 300s;
    limits.input = input;
    auto r = run(o, limits);
    EXPECT_TRUE(r) << (r ? "" : r.error().describe());
    return r ? *r : RunResult{};
  }
  // `sh CMD` through the agent's own channel (hvc0), not through exec: what the guest runs,
  // seen independently of the path under test.
  std::string agent_sh(const std::string& command) {
    std::string socket;
    for (const auto& vm : std::filesystem::directory_iterator(root() + "/run/vm")) {
      if (std::filesystem::exists(vm.path() / "agent.sock")) socket = (vm.path() / "agent.sock").string();
    }
    auto agent = vmm::AgentClient::connect(socket);
    EXPECT_TRUE(agent) << (agent ? "" : agent.error().describe());
    if (!agent) return "";
    auto lines = agent->call("sh " + command);
    EXPECT_TRUE(lines) << (lines ? "" : lines.error().describe());
    std::string out;
    for (const auto& l : lines ? *lines : std::vector<std::string>{}) out += l + "\n";
    return out;
  }
  // Reads a running child's stdout until it holds `want` (or 60 s pass).
  static bool wait_for_output(Child& child, const std::string& want) {
    std::string seen;
    auto until = std::chrono::steady_clock::now() + 60s;
    while (seen.find(want) == std::string::npos && std::chrono::steady_clock::now() < until) {
      pollfd p{child.stdout_pipe().get(), POLLIN, 0};
      if (::poll(&p, 1, 500) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(p.fd, buf, sizeof buf);
      if (n <= 0) return false;
      seen.append(buf, static_cast<size_t>(n));
    }
    return seen.find(want) != std::string::npos;
  }
  Child spawn_exec(const std::vector<std::string>& words) {
    SpawnOptions o;
    o.argv = exec_argv(words);
    o.stdout_mode = Output::capture;
    o.stderr_mode = Output::null;
    auto c = spawn(o);
    EXPECT_TRUE(c) << (c ? "" : c.error().describe());
    return c ? std::move(*c) : Child{};
  }
};

TEST_F(ExecTest, RunsCommandsThroughTheRealSshClient) {
  push_and_plant();
  ASSERT_EQ(in_ns([&] { return instance("silo:my-app", "web"); }).state, reconcile::InstanceState::running);

  // Exit codes: the command's own, and 128+N for a signal.
  auto ok = exec({"true"});
  EXPECT_EQ(ok.status.code, 0) << ok.err;
  auto three = exec({"sh", "-c", "'exit 3'"});
  EXPECT_EQ(three.status.code, 3) << three.err;
  auto killed = exec({"sh", "-c", "'kill -TERM $$'"});
  EXPECT_EQ(killed.status.code, 128 + SIGTERM) << killed.err;
  auto missing = exec({"no-such-program"});
  EXPECT_EQ(missing.status.code, 127);
  EXPECT_THAT(missing.err, HasSubstr("cannot run no-such-program"));

  // stdout and stderr stay apart.
  auto split = exec({"sh", "-c", "'echo to-out; echo to-err >&2; echo more-out'"});
  EXPECT_EQ(split.status.code, 0) << split.err;
  EXPECT_EQ(split.out, "to-out\nmore-out\n");
  EXPECT_EQ(split.err, "to-err\n");

  // Every byte value, through stdin (to its EOF) and back out of stdout.
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  all_bytes += all_bytes;  // twice, so "\r\n" pairs and NULs recur mid-stream
  auto echoed = exec({"cat"}, all_bytes);
  EXPECT_EQ(echoed.status.code, 0) << echoed.err;
  EXPECT_EQ(echoed.out, all_bytes);

  // 10 MiB of random bytes arrive whole: the guest prints their sha256 on stderr.
  auto big = exec({"sh", "-c", "'head -c 10485760 /dev/urandom >/tmp/big; sha256sum /tmp/big >&2; cat /tmp/big'"});
  EXPECT_EQ(big.status.code, 0) << big.err;
  EXPECT_EQ(big.out.size(), 10485760u);
  EXPECT_EQ(big.err.substr(0, 64), hex(sha256(big.out)));

  // A stranger's key gets the refusal restart and logs give, naming nothing.
  SpawnOptions keygen;
  keygen.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", root() + "/stranger"};
  ASSERT_TRUE(run_checked(keygen));
  auto stranger = exec({"true"}, "", root() + "/stranger");
  EXPECT_EQ(stranger.status.code, 4);
  EXPECT_THAT(stranger.err, HasSubstr("error: no instance 'web' in your repos"));
  // Without `--`: one usage error.
  auto no_dashes = ssh_result({"exec", "web", "true"});
  EXPECT_EQ(no_dashes.status.code, 2);
  EXPECT_THAT(no_dashes.err, HasSubstr("exec needs `--` before the command"));

  // The client going away kills the command: its pid, as the guest's own agent sees it, is gone.
  Child victim = spawn_exec({"sh", "-c", "'echo $$ >/tmp/victim; echo started; exec sleep 1000'"});
  ASSERT_TRUE(wait_for_output(victim, "started"));
  EXPECT_THAT(agent_sh("kill -0 $(cat /tmp/victim) && echo alive"), HasSubstr("alive"));
  EXPECT_TRUE(victim.signal(SIGKILL));
  (void)victim.wait(10s);
  std::string after;
  for (int i = 0; i < 50; ++i) {
    after = agent_sh("kill -0 $(cat /tmp/victim) 2>/dev/null && echo alive || echo gone");
    if (after.find("gone") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_THAT(after, HasSubstr("gone"));

  // Four at once per instance; the fifth is told they are busy, and a port frees when one ends.
  std::vector<Child> sleepers;
  for (int i = 0; i < 4; ++i) {
    sleepers.push_back(spawn_exec({"sh", "-c", "'echo up; exec sleep 1000'"}));
    ASSERT_TRUE(wait_for_output(sleepers.back(), "up"));
  }
  auto busy = exec({"true"});
  EXPECT_EQ(busy.status.code, 6);
  EXPECT_THAT(busy.err, HasSubstr("all 4 exec sessions of web are busy"));
  for (auto& s : sleepers) {
    EXPECT_TRUE(s.signal(SIGKILL));
    (void)s.wait(10s);
  }
  RunResult again;
  for (int i = 0; i < 50; ++i) {
    again = exec({"echo", "free"});
    if (again.status.code == 0) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(again.out, "free\n") << again.err;

  // Every session is in the audit, listed by the real seedctl through a real control socket.
  control::ControlConfig cc;
  cc.socket_path = root() + "/run/control.sock";
  cc.audit = audit_.get();
  auto control = control::start_control_server(cc, *engine_);
  ASSERT_TRUE(control) << control.error().describe();
  SpawnOptions seedctl;
  seedctl.argv = {vmm::testing::build_dir() + "/src/seedctl/seedctl", "--socket", cc.socket_path, "sessions", "--json"};
  seedctl.stdout_mode = Output::capture;
  auto listed = run(seedctl);
  ASSERT_TRUE(listed && listed->status.success()) << (listed ? listed->err : listed.error().describe());
  auto j = nlohmann::json::parse(listed->out);
  bool saw_three = false, saw_killed = false;
  for (const auto& s : j["sessions"]) {
    EXPECT_EQ(s["kind"], "exec");
    EXPECT_THAT(s["instance"].get<std::string>(), HasSubstr("web."));
    EXPECT_THAT(s["key"].get<std::string>(), HasSubstr("SHA256:"));
    if (s["detail"] == R"(["sh","-c","exit 3"])" && s["exit"] == 3) saw_three = true;
    if (s["detail"].get<std::string>().find("/tmp/victim") != std::string::npos && s["exit"] == -1) saw_killed = true;
  }
  EXPECT_TRUE(saw_three) << listed->out;
  EXPECT_TRUE(saw_killed) << listed->out;
  // Exactly the commands that ran: 7 above, the victim, 4 sleepers and the last echo. The
  // stranger's, the usage error's and the busy refusals opened no session.
  EXPECT_EQ(j["sessions"].size(), 13u) << listed->out;
}

}  // namespace
}  // namespace seed::e2e
