#include "vmm/console/console_channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <random>

#include "common/unix_socket.hpp"

namespace seed::vmm {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

Error no_relay(const std::string& path, std::string why) {
  return make_error(Errc::unavailable, "the instance's console does not answer: " + std::move(why))
      .with("socket", path)
      .with("stage", "runtime")
      .with("hint", "the instance may still be booting (see `status`); retry in a moment");
}

}  // namespace

Result<std::unique_ptr<ConsoleChannel>> ConsoleChannel::open(const std::string& socket_path, ConsoleSize size,
                                                             std::string_view term,
                                                             std::chrono::milliseconds timeout) {
  std::string open_frame;
  uint32_t session = std::random_device{}();
  open_frame = SEED_TRY(encode_open(session, size, term));
  auto fd = connect_unix(socket_path, std::min(timeout, std::chrono::milliseconds(2000)));
  // The connect error names the socket's path: it stays in the context, which tenants never see.
  if (!fd) return no_relay(socket_path, "its console port is not there").with("connect", fd.error().message);
  // A guest that stops reading must not hold a session thread forever.
  timeval send_timeout{10, 0};
  ::setsockopt(fd->get(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  std::unique_ptr<ConsoleChannel> c(new ConsoleChannel(std::move(*fd), socket_path));
  c->session_ = session;
  SEED_TRY(c->send(open_frame));
  // Everything before the guest's `opened` for this session is a previous session's tail.
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (!c->opened_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      c->ended_ = true;  // nothing to hang up
      return no_relay(socket_path, "no shell started within " + std::to_string(timeout.count() / 1000) + " s");
    }
    pollfd p{c->fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(c->fd(), buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
      c->ended_ = true;
      return no_relay(socket_path, "the channel closed before a shell started");
    }
    if (n < 0) continue;
    c->decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
    for (;;) {
      auto f = c->decoder_.next();
      if (!f) {
        c->ended_ = true;
        return std::move(f).error().with("socket", socket_path);
      }
      if (!*f) break;
      if ((*f)->type == ConsoleFrameType::opened && (*f)->session == session) {
        c->opened_ = true;
        break;
      }
    }
  }
  return c;
}

ConsoleChannel::~ConsoleChannel() {
  if (!fd_ || ended_) return;
  // The guest answers a hangup with its own once the shell is gone; waiting for it (briefly)
  // means the next console finds the relay ready for a fresh shell.
  if (!send(encode_hangup())) return;
  const auto deadline = Clock::now() + 2s;
  while (!ended_ && Clock::now() < deadline) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    auto out = read();
    if (!out || out->ended) break;
  }
}

Status ConsoleChannel::send(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error("console channel write failed", errno).with("socket", path_);
    done += static_cast<size_t>(n);
  }
  return ok();
}

Status ConsoleChannel::send_input(std::string_view bytes) { return send(encode_data(bytes)); }

Status ConsoleChannel::resize(ConsoleSize size) { return send(encode_window(size)); }

Status ConsoleChannel::drain(Output& out) {
  for (;;) {
    auto f = SEED_TRY(decoder_.next());
    if (!f) return ok();
    if (f->type == ConsoleFrameType::data) {
      out.data += f->data;
    } else if (f->type == ConsoleFrameType::hangup) {
      ended_ = out.ended = true;
      out.exit_status = f->exit_status.value_or(0);
      return ok();
    }
    // A stray `opened` (of this session) or a host-only type: nothing to show.
  }
}

Result<ConsoleChannel::Output> ConsoleChannel::read() {
  Output out;
  if (ended_) {
    out.ended = true;
    return out;
  }
  SEED_TRY(drain(out));  // frames that arrived with the `opened`
  char buf[16384];
  while (!out.ended) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      ended_ = out.ended = out.lost = true;
      out.exit_status = 255;
      break;
    }
    decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
    SEED_TRY(drain(out));
    if (out.data.size() >= 65536) break;  // let the caller pass it on
  }
  return out;
}

}  // namespace seed::vmm
