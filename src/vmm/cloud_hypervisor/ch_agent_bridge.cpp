#include "vmm/cloud_hypervisor/ch_agent_bridge.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.hpp"
#include "common/unix_socket.hpp"

namespace seed::vmm::ch {
namespace {

// A client or pty that accepts nothing for this long is treated as gone; the agent protocol
// is request/response, so a healthy peer drains its side in milliseconds.
constexpr int kWriteStallMs = 5000;

}  // namespace

Result<std::unique_ptr<ChAgentBridge>> ChAgentBridge::start(const std::string& pty_path,
                                                            const std::string& socket_path) {
  UniqueFd pty(::open(pty_path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!pty) {
    return errno_error("cannot open the virtio-console pty " + pty_path, errno)
        .with("pty", pty_path);
  }
  if (::isatty(pty.get()) == 0) {
    return make_error(Errc::invalid_argument, "not a terminal: " + pty_path).with("pty", pty_path);
  }
  // CH already puts the pty in raw mode; doing it again costs nothing and guarantees that no
  // line discipline echoes agent traffic back to the guest or rewrites newlines.
  termios tio{};
  if (::tcgetattr(pty.get(), &tio) == 0) {
    ::cfmakeraw(&tio);
    ::tcsetattr(pty.get(), TCSANOW, &tio);
  }
  auto listener = SEED_TRY(listen_unix(socket_path, 4));
  ::fcntl(listener.get(), F_SETFL, ::fcntl(listener.get(), F_GETFL) | O_NONBLOCK);
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) {
    ::unlink(socket_path.c_str());
    return errno_error("eventfd", errno);
  }
  std::unique_ptr<ChAgentBridge> bridge(new ChAgentBridge(
      pty_path, socket_path, std::move(pty), std::move(listener), std::move(wake)));
  bridge->thread_ = std::thread([b = bridge.get()] { b->run(); });
  return bridge;
}

ChAgentBridge::ChAgentBridge(std::string pty_path, std::string socket_path, UniqueFd pty,
                             UniqueFd listener, UniqueFd wake)
    : pty_path_(std::move(pty_path)),
      socket_path_(std::move(socket_path)),
      pty_(std::move(pty)),
      listener_(std::move(listener)),
      wake_(std::move(wake)) {}

ChAgentBridge::~ChAgentBridge() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_.get(), &one, sizeof one);
  (void)ignored;
  if (thread_.joinable()) thread_.join();
  ::unlink(socket_path_.c_str());
}

bool ChAgentBridge::write_all(int fd, const char* data, size_t size) {
  const bool is_socket = fd == client_.get();
  while (size > 0) {
    ssize_t n = is_socket ? ::send(fd, data, size, MSG_NOSIGNAL) : ::write(fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;
    pollfd fds[2] = {{fd, POLLOUT, 0}, {wake_.get(), POLLIN, 0}};
    int r = ::poll(fds, 2, kWriteStallMs);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || fds[1].revents != 0) return false;
  }
  return true;
}

void ChAgentBridge::run() {
  char buf[16384];
  for (;;) {
    pollfd fds[4] = {{wake_.get(), POLLIN, 0},
                     {pty_.get(), POLLIN, 0},
                     {listener_.get(), POLLIN, 0},
                     {client_.get(), POLLIN, 0}};
    nfds_t count = client_ ? 4 : 3;
    int r = ::poll(fds, count, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || fds[0].revents != 0) break;

    // Accept before reading the pty: a client that connected before the guest spoke must get
    // what the guest said, even when both arrive in the same wakeup.
    bool replaced = false;
    if (fds[2].revents != 0) {
      UniqueFd accepted(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      // The newest client wins: an agent client that reconnects has given up on the old one.
      if (accepted) {
        client_ = std::move(accepted);
        replaced = true;
      }
    }
    if (fds[1].revents != 0) {
      ssize_t n = ::read(pty_.get(), buf, sizeof buf);
      if (n > 0) {
        // Nobody attached: the guest's words are dropped so that it never blocks.
        if (client_ && !write_all(client_.get(), buf, static_cast<size_t>(n))) client_.reset();
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        // EIO on a pty means the other side (CH) closed it: the VMM is gone.
        log::info("ch.agent_bridge.pty_closed", {{"pty", pty_path_}, {"socket", socket_path_}});
        break;
      }
    }
    // After a replacement the client entry polled belongs to the old client.
    if (!replaced && client_ && count == 4 && fds[3].revents != 0) {
      ssize_t n = ::read(client_.get(), buf, sizeof buf);
      if (n > 0) {
        if (!write_all(pty_.get(), buf, static_cast<size_t>(n))) {
          log::warn("ch.agent_bridge.guest_stalled", {{"pty", pty_path_}});
        }
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        client_.reset();
      }
    }
  }
  client_.reset();
  active_.store(false);
}

}  // namespace seed::vmm::ch
