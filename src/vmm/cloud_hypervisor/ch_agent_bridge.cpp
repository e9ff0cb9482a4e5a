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

void ChAgentBridge::drop_client() {
  client_.reset();
  to_client_.clear();
  to_guest_.clear();
}

namespace {

// Sends what `fd` takes now from the front of `pending`; false when the peer is gone.
bool flush_some(int fd, std::string& pending, bool is_socket) {
  while (!pending.empty()) {
    ssize_t n = is_socket ? ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT)
                          : ::write(fd, pending.data(), pending.size());
    if (n > 0) {
      pending.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  return true;
}

}  // namespace

void ChAgentBridge::run() {
  char buf[16384];
  for (;;) {
    const bool client = static_cast<bool>(client_);
    pollfd fds[4] = {{wake_.get(), POLLIN, 0},
                     {pty_.get(), static_cast<short>(POLLIN | (to_guest_.empty() ? 0 : POLLOUT)), 0},
                     {listener_.get(), POLLIN, 0},
                     {client_.get(), 0, 0}};
    if (client) {
      if (to_guest_.size() < kGuestBacklog) fds[3].events |= POLLIN;
      if (!to_client_.empty()) fds[3].events |= POLLOUT;
    }
    int r = ::poll(fds, client ? 4 : 3, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || fds[0].revents != 0) break;

    // Accept before reading the pty: a client that connected before the guest spoke must get
    // what the guest said, even when both arrive in the same wakeup.
    bool replaced = false;
    if (fds[2].revents != 0) {
      UniqueFd accepted(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      // The newest client wins: an agent client that reconnects has given up on the old one.
      if (accepted) {
        drop_client();
        client_ = std::move(accepted);
        replaced = true;
      }
    }
    if (fds[1].revents & POLLIN) {
      ssize_t n = ::read(pty_.get(), buf, sizeof buf);
      if (n > 0) {
        // Nobody attached: the guest's words are dropped so that it never blocks.
        if (client_) to_client_.append(buf, static_cast<size_t>(n));
        if (to_client_.size() > kClientBacklog) {
          log::warn("ch.agent_bridge.client_too_slow", {{"pty", pty_path_}, {"backlog", std::to_string(to_client_.size())}});
          drop_client();
        }
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        // EIO on a pty means the other side (CH) closed it: the VMM is gone.
        log::info("ch.agent_bridge.pty_closed", {{"pty", pty_path_}, {"socket", socket_path_}});
        break;
      }
    } else if (fds[1].revents & (POLLHUP | POLLERR)) {
      log::info("ch.agent_bridge.pty_closed", {{"pty", pty_path_}, {"socket", socket_path_}});
      break;
    }
    if (!to_guest_.empty() && !flush_some(pty_.get(), to_guest_, false)) {
      log::warn("ch.agent_bridge.pty_write_failed", {{"pty", pty_path_}, {"errno", std::to_string(errno)}});
      break;
    }
    if (!client_) continue;
    // After a replacement the client entry polled belongs to the old client.
    if (!replaced && (fds[3].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = ::read(client_.get(), buf, sizeof buf);
      if (n > 0) {
        to_guest_.append(buf, static_cast<size_t>(n));
        if (!flush_some(pty_.get(), to_guest_, false)) break;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        // What the client sent before it left still goes to the guest; its answer is dropped.
        std::string unsent = std::move(to_guest_);
        drop_client();
        to_guest_ = std::move(unsent);
        continue;
      }
    }
    if (!flush_some(client_.get(), to_client_, true)) drop_client();
  }
  drop_client();
  active_.store(false);
}

}  // namespace seed::vmm::ch
