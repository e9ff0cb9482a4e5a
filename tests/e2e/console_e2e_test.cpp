// `ssh -t <node> console <instance>` end to end: the real OpenSSH client on a real
// pseudo-terminal (PtyClient), seedd's SSH server and engine, and a real QEMU test guest whose
// seed-console-relay runs a busybox login shell on a pty of its own for each session.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pty_client.hpp"
#include "tenant_fixture.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ConsoleTest : public TenantTest {
 protected:
  // `ssh -t <node> console web` as a tenant types it, in a terminal of rows × cols.
  std::unique_ptr<PtyClient> console(unsigned short rows, unsigned short cols, const std::string& key = "") {
    std::vector<std::string> argv = {"ip", "netns", "exec", netns_->name()};
    for (auto w : ssh_argv({"console", "web"})) argv.push_back(w == root() + "/key" && !key.empty() ? key : w);
    argv.insert(argv.begin() + 5, "-t");  // after "ssh"
    return std::make_unique<PtyClient>(argv, std::vector<std::string>{"TERM=xterm-256color"}, rows, cols);
  }
  // A console once the previous one's session has let go of it (its hangup takes a moment).
  std::unique_ptr<PtyClient> next_console() {
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto c = console(24, 80);
      if (c->expect("~ # ", std::chrono::seconds(30))) return c;
      c->wait_exit();
      if (c->seen().find("is in use by key") == std::string::npos) {
        ADD_FAILURE() << "no prompt and no in-use refusal: " << c->seen();
        return c;
      }
    }
    ADD_FAILURE() << "the console stayed in use";
    return console(24, 80);
  }
  std::string fingerprint(const std::string& pub) {
    SpawnOptions o;
    o.argv = {"ssh-keygen", "-l", "-f", pub};
    o.stdout_mode = Output::capture;
    auto r = run_checked(o);
    EXPECT_TRUE(r);
    if (!r) return "";
    auto words = r->out.substr(r->out.find(' ') + 1);
    return words.substr(0, words.find(' '));  // "SHA256:…"
  }
};

TEST_F(ConsoleTest, InteractiveShellWithResizeOneAtATimeEndedOnDisconnect) {
  push_and_plant();
  ASSERT_EQ(in_ns([&] { return instance("silo:my-app", "web"); }).state, reconcile::InstanceState::running);

  // A command typed in gets its output; the terminal has the client's size and TERM.
  auto first = console(30, 100);
  ASSERT_TRUE(first->expect("~ # ")) << first->seen();
  first->type("echo answer-$((6*7))\r");
  EXPECT_TRUE(first->expect("answer-42")) << first->seen();
  first->type("stty size; echo term-$TERM\r");
  EXPECT_TRUE(first->expect("30 100")) << first->seen();
  EXPECT_TRUE(first->expect("term-xterm-256color")) << first->seen();
  // A resize of the client's terminal reaches the guest's pty.
  first->resize(40, 120);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let ssh send window-change first
  first->type("stty size\r");
  EXPECT_TRUE(first->expect("40 120")) << first->seen();
  // A longer output (about 100 KB) arrives whole and in order through the pty, the relay's
  // frames and the SSH channel.
  std::string all_lines = "seq 1 20000\r\n";  // the echoed command, then every line
  for (int i = 1; i <= 20000; ++i) all_lines += std::to_string(i) + "\r\n";
  first->type("seq 1 20000\r");
  EXPECT_TRUE(first->expect(all_lines)) << first->seen().size() << " bytes shown";
  first->type("echo $$ > /tmp/first-shell; echo saved-$((1+1))\r");
  ASSERT_TRUE(first->expect("saved-2")) << first->seen();

  // One console at a time: a second is told who holds it.
  auto second = console(24, 80);
  EXPECT_EQ(second->wait_exit(), 6) << second->seen();
  EXPECT_THAT(second->seen(), HasSubstr("console of web is in use by key " + fingerprint(root() + "/key.pub") + " since "));

  // Without a terminal: told to use ssh -t. A stranger: not found.
  auto no_pty = ssh_result({"console", "web"});
  EXPECT_EQ(no_pty.status.code, 2);
  EXPECT_THAT(no_pty.err, HasSubstr("console needs a terminal"));
  EXPECT_THAT(no_pty.err, HasSubstr("ssh -t <node> console web"));
  SpawnOptions keygen;
  keygen.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", root() + "/stranger"};
  ASSERT_TRUE(run_checked(keygen));
  auto stranger = console(24, 80, root() + "/stranger");
  EXPECT_EQ(stranger->wait_exit(), 4) << stranger->seen();
  // The not-found refusal restart and logs give: nothing says the instance exists.
  EXPECT_THAT(stranger->seen(), HasSubstr("error: no instance 'web' in your repos"));
  EXPECT_THAT(stranger->seen(), Not(HasSubstr("in use")));

  // OpenSSH's escape (~. after a newline) ends the client; the guest's shell goes with it.
  first->type("\r~.");
  EXPECT_TRUE(first->wait_exit().has_value()) << first->seen();
  auto again = next_console();
  again->type("kill -0 $(cat /tmp/first-shell) 2>/dev/null; echo first-shell-status-$?\r");
  EXPECT_TRUE(again->expect("first-shell-status-1")) << again->seen();  // no such process
  // The shell's exit status is ssh's.
  again->type("exit 7\r");
  EXPECT_EQ(again->wait_exit(), 7) << again->seen();

  // The session audit holds each console session with the key and how it ended: the first hung
  // up by ~. (-1), the last with the shell's 7; the refused ones opened none.
  auto audit = audit_->list();
  ASSERT_TRUE(audit) << audit.error().describe();
  ASSERT_GE(audit->size(), 2u);
  EXPECT_EQ(audit->front().kind, "console");
  EXPECT_EQ(audit->front().fingerprint, fingerprint(root() + "/key.pub"));
  EXPECT_EQ(audit->front().detail, "term=xterm-256color");
  EXPECT_EQ(audit->front().exit_code, -1);
  EXPECT_EQ(audit->back().exit_code, 7);
}

// seedd restarts without stopping the VMs (it re-adopts them): the console socket QEMU holds
// is found again by its path, and the guest's relay serves the new seedd's session.
TEST_F(ConsoleTest, WorksOnAVmTheRestartedSeeddAdopted) {
  push_and_plant();
  const pid_t vmm = engine_->vm_pid(in_ns([&] { return instance("silo:my-app", "web"); }).id);
  ssh_->stop();
  close_engine();
  open_engine();
  start_ssh_server();
  ASSERT_EQ(engine_->vm_pid(in_ns([&] { return instance("silo:my-app", "web"); }).id), vmm) << "the VM was not adopted";
  auto c = console(24, 80);
  ASSERT_TRUE(c->expect("~ # ")) << c->seen();
  c->type("echo adopted-$((2*3))\r");
  EXPECT_TRUE(c->expect("adopted-6")) << c->seen();
  c->type("exit\r");
  EXPECT_EQ(c->wait_exit(), 0) << c->seen();
}

}  // namespace
}  // namespace seed::e2e
