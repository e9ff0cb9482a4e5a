// The guest's exec helper (nixos-module/guest/seed-agent-exec.c) as a real process on the host, its
// agent port replaced by one end of a socketpair, spoken to with the host's codec. What this
// cannot catch: the virtio port itself (throttling, hangup on host disconnect) and the agent's
// hand-over after the `exec` line; those need the QEMU guest, which runs no exec agent yet.
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "common/digest.hpp"
#include "vmm/agent_exec_frame.hpp"

extern char** environ;

namespace seed::vmm {
namespace {

std::string helper_binary() {
  if (const char* build = std::getenv("SEED_BUILD_DIR")) return std::string(build) + "/src/vmm/seed-agent-exec";
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "seed-agent-exec").string();
}

struct Outcome {
  std::string out, err;
  int exit_code = -1;
};

class Helper {
 public:
  // `arg`: the helper's argument ("window=N" for the windowed mode), none when empty.
  explicit Helper(const std::string& arg = "") {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, sv[1], 0);
    posix_spawn_file_actions_adddup2(&actions, sv[1], 1);
    const std::string path = helper_binary();
    char* argv[] = {const_cast<char*>(path.c_str()), arg.empty() ? nullptr : const_cast<char*>(arg.c_str()), nullptr};
    EXPECT_EQ(::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv, environ), 0) << path;
    posix_spawn_file_actions_destroy(&actions);
    ::close(sv[1]);
    fd_ = sv[0];
  }
  ~Helper() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  void send(const std::string& bytes) {
    ASSERT_EQ(::write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  // Reads frames up to the exit frame, or until `stop` says so.
  Outcome run_to_exit(const std::function<bool(const Outcome&)>& stop = nullptr) {
    Outcome r;
    ExecFrameDecoder decoder;
    char buf[65536];
    for (;;) {
      auto next = decoder.next();
      EXPECT_TRUE(next.ok());
      if (!next.ok()) return r;
      if (next->has_value()) {
        const ExecFrame& f = **next;
        if (f.type == ExecFrameType::stdout_data) r.out += f.payload;
        if (f.type == ExecFrameType::stderr_data) r.err += f.payload;
        if (f.type == ExecFrameType::exit) {
          r.exit_code = decode_exec_exit(f.payload).value();
          return r;
        }
        if (stop && stop(r)) return r;
        continue;
      }
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return r;
      decoder.feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  void hang_up() {
    ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }
  // The helper's exit status once it has ended within `limit`; nothing while it still runs.
  std::optional<int> exited_within(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      ::usleep(10000);
    }
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

Outcome run(const std::vector<std::string>& argv, const std::string& stdin_data = "") {
  Helper helper;
  helper.send(encode_exec_argv(argv) + encode_exec_data(ExecFrameType::stdin_data, stdin_data) +
              encode_exec_frame(ExecFrameType::stdin_eof, ""));
  return helper.run_to_exit();
}

TEST(AgentExecHelper, ExitCodesAndSignals) {
  EXPECT_EQ(run({"true"}).exit_code, 0);
  EXPECT_EQ(run({"sh", "-c", "exit 3"}).exit_code, 3);
  EXPECT_EQ(run({"sh", "-c", "exit 255"}).exit_code, 255);
  EXPECT_EQ(run({"sh", "-c", "kill -TERM $$"}).exit_code, 128 + SIGTERM);
  auto missing = run({"/nonexistent/command"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.err.find("cannot run /nonexistent/command"), std::string::npos) << missing.err;
}

TEST(AgentExecHelper, StdoutAndStderrStaySeparateAndStdinPassesThroughToEof) {
  auto r = run({"sh", "-c", "echo to-out; echo to-err >&2; cat; echo after-eof"}, "typed\nlines\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "to-out\ntyped\nlines\nafter-eof\n");
  EXPECT_EQ(r.err, "to-err\n");
}

TEST(AgentExecHelper, AllByteValuesArriveIntact) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  auto r = run({"cat"}, bytes);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.out == bytes);
}

TEST(AgentExecHelper, TenMiBOfOutputArrivesWholeAndInOrder) {
  auto r = run({"sh", "-c", "head -c 10485760 /dev/urandom | tee /dev/stderr | sha256sum"});
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.err.size(), 10485760u);
  EXPECT_EQ(r.out.substr(0, 64), hex(sha256(r.err)));
}

// cat writes its output before it has read all its input: the helper must keep taking the
// host's frames (queueing stdin) while the command's stdin pipe is full, or both wait forever.
TEST(AgentExecHelper, AMiBOfStdinThroughCatDoesNotDeadlock) {
  std::string bytes;
  for (int i = 0; i < (1 << 20); ++i) bytes.push_back(static_cast<char>(i * 13));
  auto r = run({"cat"}, bytes);
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.out.size(), bytes.size());
  EXPECT_TRUE(r.out == bytes);
}

TEST(AgentExecHelper, WindowedItKeepsUnacknowledgedOutputUnderTheWindowAndWaitsForDone) {
  Helper helper("window=4096");
  helper.send(encode_exec_argv({"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo done >&2"}) +
              encode_exec_frame(ExecFrameType::stdin_eof, ""));
  // Without acks the helper stops at the window.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::string early;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(helper.fd(), buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    early.append(buf, static_cast<size_t>(n));
  }
  EXPECT_GT(early.size(), 0u);
  EXPECT_LE(early.size(), 4096u);
  // Acknowledging every frame as it is read lets the command run to its end.
  ExecFrameDecoder decoder;
  decoder.feed(early);
  helper.send(encode_exec_ack(static_cast<uint32_t>(early.size())));
  Outcome r;
  while (r.exit_code < 0) {
    auto next = decoder.next();
    ASSERT_TRUE(next.ok());
    if (!next->has_value()) {
      ssize_t n = ::read(helper.fd(), buf, sizeof buf);
      ASSERT_GT(n, 0) << "the helper stopped after " << r.out.size() << " bytes";
      decoder.feed(std::string_view(buf, static_cast<size_t>(n)));
      helper.send(encode_exec_ack(static_cast<uint32_t>(n)));
      continue;
    }
    const ExecFrame& f = **next;
    if (f.type == ExecFrameType::stdout_data) r.out += f.payload;
    if (f.type == ExecFrameType::stderr_data) r.err += f.payload;
    if (f.type == ExecFrameType::exit) r.exit_code = decode_exec_exit(f.payload).value();
  }
  EXPECT_EQ(r.out, std::string(100000, 'x'));
  EXPECT_EQ(r.err, "done\n");
  EXPECT_EQ(r.exit_code, 0);
  // After its exit frame it drops late frames (stdin, acks) and ends only at the host's 'z'.
  helper.send(encode_exec_data(ExecFrameType::stdin_data, "late") + encode_exec_ack(5));
  EXPECT_FALSE(helper.exited_within(std::chrono::milliseconds(300)).has_value());
  helper.send(encode_exec_frame(ExecFrameType::done, ""));
  auto status = helper.exited_within(std::chrono::seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

TEST(AgentExecHelper, AHostThatGoesAwayKillsTheCommandsProcessGroup) {
  const std::string pid_file = "/tmp/seed-agent-exec-test-" + std::to_string(::getpid());
  {
    Helper helper;
    helper.send(encode_exec_argv({"sh", "-c", "sleep 1000 & echo $! > " + pid_file + "; echo started; wait"}));
    auto r = helper.run_to_exit([](const Outcome& r) { return r.out == "started\n"; });
    ASSERT_EQ(r.out, "started\n");
    helper.hang_up();
  }  // the helper has exited (waited for)
  std::string text;
  {
    FILE* f = ::fopen(pid_file.c_str(), "r");
    ASSERT_NE(f, nullptr);
    char line[32] = {};
    ASSERT_NE(::fgets(line, sizeof line, f), nullptr);
    ::fclose(f);
    text = line;
  }
  ::unlink(pid_file.c_str());
  const pid_t sleeper = static_cast<pid_t>(std::stol(text));
  // The helper sent SIGKILL to the group before it exited; the sleeper dies asynchronously and
  // is then reaped by init (a zombie until then). A deadline for the kill to land, not a timing
  // assertion: a sleeper still running after 30 s was not killed.
  auto state_of = [&] {
    std::string state;
    if (FILE* f = ::fopen(("/proc/" + std::to_string(sleeper) + "/stat").c_str(), "r")) {
      char buf[256] = {};
      (void)::fgets(buf, sizeof buf, f);
      ::fclose(f);
      state = buf;
    }
    return state;
  };
  auto gone = [](const std::string& state) { return state.empty() || state.find(") Z") != std::string::npos; };
  std::string state = state_of();
  for (int i = 0; i < 3000 && !gone(state); ++i) {
    ::usleep(10000);
    state = state_of();
  }
  EXPECT_TRUE(gone(state)) << state;
}

TEST(AgentExecHelper, AKillFrameSignalsTheCommand) {
  Helper helper;
  helper.send(encode_exec_argv({"sh", "-c", "echo ready; exec sleep 1000"}));
  auto started = helper.run_to_exit([](const Outcome& r) { return r.out == "ready\n"; });
  ASSERT_EQ(started.out, "ready\n");
  helper.send(encode_exec_frame(ExecFrameType::kill, std::string(1, static_cast<char>(SIGKILL))));
  EXPECT_EQ(helper.run_to_exit().exit_code, 128 + SIGKILL);
}

}  // namespace
}  // namespace seed::vmm
