#include "control/client_connection.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/log.hpp"
#include "control/control_protocol.hpp"

namespace seed::control {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

Error request_error(Errc code, std::string message) {
  return make_error(code, std::move(message)).with("stage", "request");
}

}  // namespace

ClientConnection::ClientConnection(UniqueFd fd, int stop_fd, const ControlConfig& config)
    : fd_(std::move(fd)), stop_fd_(stop_fd), config_(config) {}

ClientConnection::~ClientConnection() {
  if (watcher_.joinable()) {
    uint64_t one = 1;
    (void)!::write(watch_end_.get(), &one, sizeof one);
    watcher_.join();
  }
}

Result<std::string> ClientConnection::read_request_line() {
  auto deadline = Clock::now() + config_.request_timeout;
  std::string buffer;
  char chunk[4096];
  for (;;) {
    pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("poll on a control connection", errno).with("stage", "request");
    if (fds[1].revents != 0) return request_error(Errc::unavailable, "seedd is shutting down");
    if (n == 0) {
      return request_error(Errc::timeout, "no request line within " +
                                              std::to_string(config_.request_timeout.count()) + " ms")
          .with("hint", "send one JSON request line right after connecting");
    }
    ssize_t got = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (got < 0) return errno_error("read from a control connection", errno).with("stage", "request");
    if (got == 0) return request_error(Errc::protocol, "the client closed the connection before a full request line");
    buffer.append(chunk, static_cast<size_t>(got));
    if (auto nl = buffer.find('\n'); nl != std::string::npos) {
      if (nl > config_.max_request_bytes) break;
      buffer.resize(nl);
      return buffer;
    }
    if (buffer.size() > config_.max_request_bytes) break;
  }
  return request_error(Errc::invalid_argument,
                       "the request line is longer than " + std::to_string(config_.max_request_bytes) + " bytes")
      .with("hint", "a request is one short JSON object; use seedctl");
}

void ClientConnection::send_line(const std::string& line) {
  std::lock_guard lock(write_mutex_);
  if (broken_) return;
  std::string out = line + "\n";
  size_t done = 0;
  auto deadline = Clock::now() + config_.write_timeout;
  while (done < out.size()) {
    ssize_t n = ::send(fd_.get(), out.data() + done, out.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      // A full buffer: wait for the client to read, but not past the deadline or a shutdown.
      pollfd fds[2] = {{fd_.get(), POLLOUT, 0}, {stop_fd_, POLLIN, 0}};
      int r = ::poll(fds, 2, remaining_ms(deadline));
      if (r > 0 && fds[1].revents == 0) continue;
      if (r < 0 && errno == EINTR) continue;
      log::warn("control.client_dropped", {{"reason", r == 0 ? "not reading" : "shutdown"}});
    }
    broken_ = true;  // EPIPE, ECONNRESET, timeout: nobody is listening any more
    cancelled_ = true;
    return;
  }
}

void ClientConnection::watch_hangup() {
  if (watcher_.joinable()) return;
  watch_end_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!watch_end_) {
    // Without the watcher a follower would never end; cancel now rather than leak a stream.
    log::error("control.watch_failed", {{"error", errno_error("eventfd", errno).describe()}});
    cancelled_ = true;
    return;
  }
  watcher_ = std::thread([this] { watch_loop(); });
}

void ClientConnection::watch_loop() {
  char sink[512];
  for (;;) {
    pollfd fds[3] = {{fd_.get(), POLLIN | POLLRDHUP, 0}, {stop_fd_, POLLIN, 0}, {watch_end_.get(), POLLIN, 0}};
    int n = ::poll(fds, 3, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents != 0 || fds[2].revents != 0) break;
    if ((fds[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) break;
    // Anything the client sends after its request is ignored; reading it keeps poll quiet.
    ssize_t got = ::recv(fd_.get(), sink, sizeof sink, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) break;
  }
  cancelled_ = true;
}

void ClientConnection::progress(const reconcile::Progress& p) { send_line(encode_progress(p.stage, p.message)); }

void ClientConnection::data(std::string_view d) { send_line(encode_data(d)); }

}  // namespace seed::control
