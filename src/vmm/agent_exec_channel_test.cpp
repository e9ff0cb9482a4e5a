// ExecChannel's start (ping, resync, then frames) against a scripted agent on a Unix socket.
// The fake stands in for a guest agent loop (tests/guest/init.sh agent_serve): it answers
// `ping` and unknown lines as that loop does, and answers `exec` with frames of its own. What
// it cannot catch: the virtio port's real timing (how a ping gets dropped as the guest closes
// its port); VmTest.ManyFreshExecSessionsOnEveryPortAllRunTheirCommand runs many sessions against the real guest for that.
#include "vmm/agent_exec_channel.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "common/testing/temp_dir.hpp"
#include "common/unix_socket.hpp"

namespace seed::vmm {
namespace {

using namespace std::chrono_literals;

class ScriptedAgent {
 public:
  // drop_first: the first request line is lost (a guest port closed as it arrived).
  // pong_delay: how long the answer to `ping` takes.
  ScriptedAgent(const std::string& path, bool drop_first, std::chrono::milliseconds pong_delay)
      : listener_(listen_unix(path).value()) {
    thread_ = std::thread([this, drop_first, pong_delay] { serve(drop_first, pong_delay); });
  }
  ~ScriptedAgent() { thread_.join(); }
  std::vector<std::string> lines_seen;

 private:
  void serve(bool drop_first, std::chrono::milliseconds pong_delay) {
    int fd = ::accept(listener_.get(), nullptr, nullptr);
    ASSERT_GE(fd, 0);
    UniqueFd conn(fd);
    std::string buffer;
    bool first = true;
    for (;;) {
      auto nl = buffer.find('\n');
      if (nl == std::string::npos) {
        char b[256];
        ssize_t n = ::recv(conn.get(), b, sizeof b, 0);
        if (n <= 0) return;
        buffer.append(b, static_cast<size_t>(n));
        continue;
      }
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      lines_seen.push_back(line);
      if (std::exchange(first, false) && drop_first) continue;
      std::string answer;
      if (line == "ping") {
        std::this_thread::sleep_for(pong_delay);
        answer = "pong\n.\n";
      } else if (line == "exec") {
        // The argv frame follows; the command "runs" and exits 7.
        answer = encode_exec_data(ExecFrameType::stdout_data, "ran\n") + encode_exec_exit(7);
      } else {
        answer = "err unknown command\n.\n";
      }
      ASSERT_EQ(::send(conn.get(), answer.data(), answer.size(), MSG_NOSIGNAL), static_cast<ssize_t>(answer.size()));
      if (line == "exec") return;
    }
  }
  UniqueFd listener_;
  std::thread thread_;
};

ExecChannel::Output run_to_end(ExecChannel& c) {
  ExecChannel::Output all;
  while (!all.ended) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    auto out = c.read();
    EXPECT_TRUE(out.ok()) << out.error().describe();
    if (!out.ok()) break;
    all.out += out->out;
    all.ended = out->ended;
    all.exit_code = out->exit_code;
    all.lost = out->lost;
  }
  return all;
}

// Opens a channel to a ScriptedAgent and runs a command through it to its exit.
void expect_the_command_runs(bool drop_first, std::chrono::milliseconds pong_delay) {
  seed::testing::TempDir dir;
  const std::string sock = dir.path() + "/exec.sock";
  ScriptedAgent agent(sock, drop_first, pong_delay);
  auto c = ExecChannel::open(sock, {"true"}, 10s);
  ASSERT_TRUE(c.ok()) << c.error().describe();
  auto out = run_to_end(**c);
  EXPECT_TRUE(out.ended);
  EXPECT_FALSE(out.lost);
  EXPECT_EQ(out.exit_code, 7);
  EXPECT_EQ(out.out, "ran\n");
}

TEST(ExecChannelStart, APingTheGuestDroppedIsFollowedByAResyncAndTheCommandRuns) {
  expect_the_command_runs(/*drop_first=*/true, 0ms);
}

TEST(ExecChannelStart, APongThatComesLateIsNotTakenForTheCommandsFrames) {
  // Later than the resync: the pong and then the marker's answer come before any frame.
  expect_the_command_runs(/*drop_first=*/false, 2500ms);
}

TEST(ExecChannelStart, AGuestThatNeverAnswersIsUnavailableAfterTheTimeout) {
  seed::testing::TempDir dir;
  const std::string sock = dir.path() + "/exec.sock";
  auto listener = listen_unix(sock);
  ASSERT_TRUE(listener.ok());
  // Nobody accepts: the connection sits in the backlog, as a port whose agent is gone.
  auto c = ExecChannel::open(sock, {"true"}, 3s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::unavailable) << c.error().describe();
  EXPECT_NE(c.error().describe().find("no answer within 3 s"), std::string::npos) << c.error().describe();
}

// The windowed mode against a fake guest that keeps to the window (as seed-agent-exec does):
// it sends 1 MiB of output but never more than the window ahead of the host's acks, so the
// command only ends if the host acknowledges what it read; after the exit frame it waits for
// the host's 'z'. What it cannot catch: a console's real losses, which
// ShootCloneTest.ACommandRunsOverTheAgentConsoleAsOnCloudHypervisor meets in a real guest.
TEST(ExecChannelWindow, TheHostAcknowledgesWhatItReadAndEndsWithDone) {
  seed::testing::TempDir dir;
  const std::string sock = dir.path() + "/agent.sock";
  auto listener = listen_unix(sock);
  ASSERT_TRUE(listener.ok());
  constexpr uint32_t kWindow = 8192;
  std::string request_line, output;
  for (int i = 0; output.size() < (1u << 20); ++i) output += std::to_string(i) + ",";
  size_t most_in_flight = 0;
  bool got_done = false;
  std::thread guest([&] {
    UniqueFd conn(::accept(listener->get(), nullptr, nullptr));
    ASSERT_TRUE(conn);
    std::string in;
    auto fill = [&](size_t want) {
      while (in.size() < want) {
        char b[4096];
        ssize_t n = ::recv(conn.get(), b, sizeof b, 0);
        if (n <= 0) return false;
        in.append(b, static_cast<size_t>(n));
      }
      return true;
    };
    auto send_all = [&](const std::string& bytes) {
      ASSERT_EQ(::send(conn.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    };
    // ping, then the exec line and the argv frame.
    while (in.find("ping\n") == std::string::npos) ASSERT_TRUE(fill(in.size() + 1));
    in.erase(0, in.find("ping\n") + 5);
    send_all("pong\n.\n");
    while (in.find('\n') == std::string::npos) ASSERT_TRUE(fill(in.size() + 1));
    request_line = in.substr(0, in.find('\n'));
    in.erase(0, request_line.size() + 1);
    ExecFrameDecoder frames;
    auto next_frame = [&]() -> std::optional<ExecFrame> {
      for (;;) {
        frames.feed(in);
        in.clear();
        auto f = frames.next();
        if (!f.ok()) return std::nullopt;
        if (*f) return **f;
        if (!fill(1)) return std::nullopt;
      }
    };
    auto argv = next_frame();
    ASSERT_TRUE(argv && argv->type == ExecFrameType::argv);
    size_t unacked = 0, at = 0;
    while (at < output.size()) {
      if (unacked + kExecHeaderSize + 1 > kWindow) {
        auto f = next_frame();
        ASSERT_TRUE(f) << "the host stopped before acknowledging";
        if (f->type == ExecFrameType::ack) unacked -= std::min<size_t>(unacked, decode_exec_ack(f->payload).value());
        continue;
      }
      size_t chunk = std::min(kWindow - unacked - kExecHeaderSize, output.size() - at);
      send_all(encode_exec_frame(ExecFrameType::stdout_data, std::string_view(output).substr(at, chunk)));
      at += chunk;
      unacked += kExecHeaderSize + chunk;
      most_in_flight = std::max(most_in_flight, unacked);
    }
    send_all(encode_exec_exit(0));
    while (auto f = next_frame()) {
      if (f->type == ExecFrameType::done) {
        got_done = true;
        break;
      }
    }
  });
  auto c = ExecChannel::open(sock, {"seq"}, 10s, kWindow);
  ASSERT_TRUE(c.ok()) << c.error().describe();
  auto out = run_to_end(**c);
  guest.join();
  EXPECT_EQ(request_line, "exec window=8192");
  EXPECT_TRUE(out.ended);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(out.out == output) << out.out.size() << " of " << output.size() << " bytes";
  EXPECT_LE(most_in_flight, kWindow);
  EXPECT_TRUE(got_done) << "no 'z' after the exit frame: a late frame could reach the agent's line reader";
}

}  // namespace
}  // namespace seed::vmm
