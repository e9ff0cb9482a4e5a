#include "vmm/agent_exec_channel.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>

#include "common/unix_socket.hpp"

namespace seed::vmm {
namespace {

using Clock = std::chrono::steady_clock;

// The agent's answer to `ping` (tests/guest/README.md, "Agent protocol").
constexpr std::string_view kPong = "pong\n.\n";
// A request line no agent knows, and every agent's answer to it (tests/guest/init.sh,
// nixos-module/guest/runtime.nix): the resync marker.
constexpr std::string_view kSyncLine = "seed-resync\n";
constexpr std::string_view kSyncAnswer = "err unknown command\n.\n";
// How long a pong may take before the ping is taken for lost: a loaded TCG guest answers within
// a second; a late pong is harmless (it comes before the marker's answer).
constexpr std::chrono::milliseconds kResyncAfter{2000};

Error no_agent(const std::string& path, std::string why) {
  return make_error(Errc::unavailable, "the instance's agent does not answer: " + std::move(why))
      .with("socket", path)
      .with("stage", "runtime")
      .with("hint", "the instance may still be booting (see `status`); retry in a moment");
}

}  // namespace

Result<std::unique_ptr<ExecChannel>> ExecChannel::open(const std::string& socket_path,
                                                       const std::vector<std::string>& argv,
                                                       std::chrono::milliseconds timeout, uint32_t window) {
  if (argv.empty() || argv[0].empty()) {
    return make_error(Errc::invalid_argument, "exec needs a command").with("stage", "exec");
  }
  std::string start = (window > 0 ? "exec window=" + std::to_string(window) + "\n" : std::string("exec\n")) +
                      encode_exec_argv(argv);
  if (start.size() > kExecHeaderSize + kExecMaxPayload + 5) {
    return make_error(Errc::invalid_argument, "the command's arguments are longer than 64 KiB").with("stage", "exec");
  }
  auto fd = connect_unix(socket_path, std::min(timeout, std::chrono::milliseconds(2000)));
  // The connect error names the socket's path: it stays in the context, which tenants never see.
  if (!fd) return no_agent(socket_path, "its exec port is not there").with("connect", fd.error().message);
  // A guest that stops reading must not hold a session thread forever.
  timeval send_timeout{10, 0};
  ::setsockopt(fd->get(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  std::unique_ptr<ExecChannel> c(new ExecChannel(std::move(*fd), socket_path));
  c->window_ = window;
  c->ended_ = true;  // nothing runs yet: nothing to kill
  SEED_TRY(c->send("ping\n"));
  const auto deadline = Clock::now() + timeout;
  // A guest agent loop that found no host closes its port and opens it again (the named
  // port's read ends at once while no host is connected), and the kernel drops what reached a
  // port as it is closed: a ping arriving in that instant is lost, about one fresh session in
  // 250 (VmTest.ManyFreshExecSessionsOnEveryPortAllRunTheirCommand). Past kResyncAfter without a pong the channel asks once more,
  // with a line no agent knows: whatever the agent answered before (the pong, or nothing when
  // the ping was dropped), its answer to that line comes last, so the stream is in step again.
  auto resync_at = Clock::now() + std::min(kResyncAfter, timeout);
  bool resynced = false;
  std::string seen;
  char buf[256];
  auto in_step = [&] {
    if (!resynced) return seen.find(kPong) != std::string::npos;
    return seen.size() >= kSyncAnswer.size() && seen.compare(seen.size() - kSyncAnswer.size(), kSyncAnswer.size(), kSyncAnswer) == 0;
  };
  while (!in_step()) {
    const auto now = Clock::now();
    if (now >= deadline) {
      return no_agent(socket_path, "no answer within " + std::to_string(timeout.count() / 1000) + " s");
    }
    if (!resynced && now >= resync_at) {
      SEED_TRY(c->send(std::string(kSyncLine)));
      resynced = true;
    }
    const auto wake = resynced ? deadline : std::min(deadline, resync_at);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now);
    pollfd p{c->fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0) continue;
    ssize_t n = ::recv(c->fd(), buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
      return no_agent(socket_path, "the channel closed before the agent answered");
    }
    if (n > 0) seen.append(buf, static_cast<size_t>(n));
    if (seen.size() > 4096) seen.erase(0, seen.size() - 64);  // only the tail can hold the answer
  }
  // The answer came after the request and nothing else was asked: the next bytes are frames.
  SEED_TRY(c->send(start));
  c->ended_ = false;
  return c;
}

ExecChannel::~ExecChannel() {
  if (!fd_ || ended_) return;
  (void)kill(SIGKILL);  // best effort: the guest kills the group at the port's EOF anyway
}

Status ExecChannel::send(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error("exec channel write failed", errno).with("socket", path_);
    done += static_cast<size_t>(n);
  }
  return ok();
}

Status ExecChannel::send_stdin(std::string_view bytes) {
  if (bytes.empty()) return ok();
  return send(encode_exec_data(ExecFrameType::stdin_data, bytes));
}

Status ExecChannel::close_stdin() { return send(encode_exec_frame(ExecFrameType::stdin_eof, "")); }

Status ExecChannel::kill(int signal) {
  return send(encode_exec_frame(ExecFrameType::kill, std::string(1, static_cast<char>(signal))));
}

Status ExecChannel::drain(Output& out) {
  for (;;) {
    auto f = SEED_TRY(decoder_.next());
    if (!f) return ok();
    if (f->type == ExecFrameType::stdout_data) {
      out.out += f->payload;
    } else if (f->type == ExecFrameType::stderr_data) {
      out.err += f->payload;
    } else if (f->type == ExecFrameType::exit) {
      out.exit_code = SEED_TRY(decode_exec_exit(f->payload));
      ended_ = out.ended = true;
      return ok();
    }
    // A host-only type coming back: nothing to show.
  }
}

Result<ExecChannel::Output> ExecChannel::read() {
  Output out;
  if (ended_) {
    out.ended = true;
    return out;
  }
  char buf[65536];
  while (!out.ended) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      ended_ = out.ended = out.lost = true;
      out.exit_code = 255;
      break;
    }
    decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
    SEED_TRY(drain(out));
    SEED_TRY(acknowledge(static_cast<size_t>(n)));
    if (out.out.size() + out.err.size() >= 256 * 1024) break;  // let the caller pass it on
  }
  return out;
}

Status ExecChannel::acknowledge(size_t bytes) {
  if (window_ == 0) return ok();
  // The exit frame is in: the guest sends nothing more and waits for this frame only.
  if (ended_) return send(encode_exec_frame(ExecFrameType::done, ""));
  unacked_ += bytes;
  // A quarter of the window at a time: the guest never waits long, and acks stay few.
  if (unacked_ < window_ / 4) return ok();
  const auto n = static_cast<uint32_t>(unacked_);
  unacked_ = 0;
  return send(encode_exec_ack(n));
}

}  // namespace seed::vmm
