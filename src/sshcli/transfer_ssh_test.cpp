// Large outputs through a session keep every byte, in order, with the real OpenSSH client and
// git: Silo clones of an incompressible repository (one after another, several at once, and
// through a reader slow enough to keep OpenSSH's 2 MiB channel window full) pass `git fsck`
// and name the pushed HEAD; `logs -f` output of several MiB arrives byte for byte.
//
// The window matters: a session's write blocks while the window is closed, and whatever the
// session does while it waits must not reorder or drop output (it once did, past 2 MiB).
#include <poll.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>

#include "sshcli/testing/ssh_fixture.hpp"

namespace seed::sshcli {
namespace {

using testing::make_source;

class TransferSshTest : public testing::SshFixture {
 protected:
  // 9 MiB of random bytes in one commit, pushed to Silo as big.git: a pack that cannot
  // compress below OpenSSH's 2 MiB initial window. Returns the commit's id.
  std::string push_big_repo() {
    std::string wt = dir_.path() + "/big";
    std::filesystem::create_directories(wt);
    EXPECT_EQ(git("alice", wt, {"init", "-q"}).status.code, 0);
    std::ofstream(wt + "/.authorized_keys") << pub_lines_["alice"];
    {
      std::ifstream rnd("/dev/urandom", std::ios::binary);
      std::ofstream out(wt + "/blob.bin", std::ios::binary);
      std::vector<char> buf(1 << 20);
      for (int i = 0; i < 9; ++i) {
        rnd.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      }
    }
    EXPECT_EQ(git("alice", wt, {"add", "-A"}).status.code, 0);
    EXPECT_EQ(git("alice", wt, {"commit", "-q", "-m", "big"}).status.code, 0);
    auto push = git("alice", wt, {"push", "-q", "node:big.git", "master"});
    EXPECT_EQ(push.status.code, 0) << push.err;
    auto head = run_checked(testing::cmd({"git", "-C", wt, "rev-parse", "HEAD"}));
    return head.ok() ? head->out : "";
  }

  // An ssh for git whose output git reads through a slow pipe (about 4 MB/s, far below what
  // the server sends on loopback), so the channel window stays full for most of the transfer.
  // perl comes with git.
  std::string slow_ssh() {
    std::string path = dir_.path() + "/slow-ssh";
    std::ofstream(path) << "#!/bin/sh\nssh -F " << cfg("bob")
                        << " \"$@\" | perl -e 'binmode STDIN; binmode STDOUT;"
                           " while (sysread(STDIN, my $b, 16384)) { syswrite(STDOUT, $b) or exit 1;"
                           " select(undef, undef, undef, 0.004); }'\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
  }

  // Clones big.git (bare) with `ssh_command`, then `git fsck --full` and HEAD. Returns what
  // went wrong, or "" when the clone is whole.
  std::string clone_and_check(const std::string& ssh_command, const std::string& dest, const std::string& head) {
    SpawnOptions o = testing::cmd({"git", "clone", "-q", "--bare", "node:big.git", dest});
    o.env = {"GIT_SSH_COMMAND=" + ssh_command, "GIT_SSH_VARIANT=ssh", "GIT_CONFIG_NOSYSTEM=1",
             "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0"};
    o.stderr_mode = Output::capture;
    auto clone = run(o, testing::within(std::chrono::seconds(120)));
    if (!clone.ok()) return dest + ": " + clone.error().describe();
    if (clone->status.code != 0) return dest + ": clone failed: " + clone->err;
    auto fsck = run(testing::cmd({"git", "--git-dir", dest, "fsck", "--full", "--no-progress"}));
    if (!fsck.ok() || fsck->status.code != 0) return dest + ": fsck failed: " + (fsck.ok() ? fsck->err : "");
    auto got = run_checked(testing::cmd({"git", "--git-dir", dest, "rev-parse", "HEAD"}));
    if (!got.ok() || got->out != head) return dest + ": HEAD is " + (got.ok() ? got->out : "unreadable");
    std::filesystem::remove_all(dest);
    return "";
  }

  // Runs `count` clones on `threads` threads; returns every failure.
  std::vector<std::string> clones(const std::string& ssh_command, const std::string& label, int count, int threads,
                                  const std::string& head) {
    std::vector<std::future<std::vector<std::string>>> workers;
    for (int t = 0; t < threads; ++t) {
      workers.push_back(std::async(std::launch::async, [&, t] {
        std::vector<std::string> failed;
        for (int i = t; i < count; i += threads) {
          auto e = clone_and_check(ssh_command, dir_.path() + "/" + label + "-" + std::to_string(i), head);
          if (!e.empty()) failed.push_back(e);
        }
        return failed;
      }));
    }
    std::vector<std::string> failed;
    for (auto& w : workers) {
      for (auto& e : w.get()) failed.push_back(std::move(e));
    }
    return failed;
  }
};

// 50 clones in all: 20 one after another, 20 four at a time, 10 through the slow reader two at
// a time. A transfer broken once in a few clones fails this with near certainty.
TEST_F(TransferSshTest, LargeSiloClonesArriveWhole) {
  std::string head = push_big_repo();
  ASSERT_FALSE(head.empty());
  std::string plain = "ssh -F " + cfg("bob");  // reads are public: bob owns nothing
  std::vector<std::string> failed = clones(plain, "seq", 20, 1, head);
  for (auto& e : clones(plain, "par", 20, 4, head)) failed.push_back(std::move(e));
  for (auto& e : clones(slow_ssh(), "slow", 10, 2, head)) failed.push_back(std::move(e));
  EXPECT_TRUE(failed.empty()) << failed.size() << " of 50 clones broken, e.g. " << failed.front();
  EXPECT_TRUE(wait_idle());
}

// Reads everything the client prints until `want` bytes arrived (or the deadline passed),
// sleeping `pause` after each read to play a slow reader.
std::string read_bytes(int fd, size_t want, std::chrono::milliseconds pause = {}) {
  std::string got;
  char buf[16384];
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (got.size() < want && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  return got;
}

// Console output of 4 MiB per follower: numbered lines of varying length, appended in 64 KiB
// pieces as a console would produce them.
std::string console_text(unsigned seed) {
  std::mt19937 rng(seed);
  std::string text;
  for (size_t n = 0; text.size() < (4u << 20); ++n) {
    text += "line " + std::to_string(n) + " " + std::string(rng() % 200, static_cast<char>('a' + rng() % 26)) + "\n";
  }
  return text;
}

TEST_F(TransferSshTest, LogsFollowOfSeveralMiBArrivesWhole) {
  service_.add_source(make_source("github:alice/app", "s-aaaaaaaaaaaa", {"w0", "w1", "w2", "w3", "w4"}));
  service_.set_authorized_keys("github:alice/app", pub_lines_["alice"]);
  // One follower per instance: alone (w0), three at once (w1-w3), and a slow reader (w4).
  auto follow = [&](const std::string& instance, std::chrono::milliseconds pause) -> std::string {
    std::string text = console_text(static_cast<unsigned>(instance[1]));
    auto client = spawn(testing::cmd({"ssh", "-F", cfg("alice"), "node", "logs " + instance + " -f --lines 1"}));
    if (!client.ok()) return instance + ": " + client.error().describe();
    std::string id = instance + ".s-aaaaaaaaaaaa";
    // The follower exists once the command runs; output appended before that is still sent
    // (the service keeps it), so the producer need not wait.
    std::thread producer([&] {
      for (size_t at = 0; at < text.size(); at += 65536) service_.append_log(id, text.substr(at, 65536));
    });
    std::string got = read_bytes(client->stdout_pipe().get(), text.size(), pause);
    producer.join();
    client->terminate(std::chrono::milliseconds(500));
    if (got == text) return "";
    size_t at = 0;
    while (at < got.size() && at < text.size() && got[at] == text[at]) ++at;
    return instance + ": got " + std::to_string(got.size()) + " of " + std::to_string(text.size()) +
           " bytes, first difference at byte " + std::to_string(at);
  };
  std::vector<std::string> failed;
  if (auto e = follow("w0", {}); !e.empty()) failed.push_back(e);
  std::vector<std::future<std::string>> parallel;
  for (const char* i : {"w1", "w2", "w3"}) {
    parallel.push_back(std::async(std::launch::async, [&, i] { return follow(i, {}); }));
  }
  for (auto& p : parallel) {
    if (auto e = p.get(); !e.empty()) failed.push_back(e);
  }
  if (auto e = follow("w4", std::chrono::milliseconds(2)); !e.empty()) failed.push_back(e);
  EXPECT_TRUE(failed.empty()) << failed.front();
  EXPECT_TRUE(wait_idle());
}

}  // namespace
}  // namespace seed::sshcli
