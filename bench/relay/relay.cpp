#include "bench/relay/relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "bench/relay/relay_sockets.hpp"

namespace seed::bench {

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

std::string_view to_string(RelayKind kind) {
  switch (kind) {
    case RelayKind::epoll_splice: return "epoll-splice";
    case RelayKind::uring_splice: return "uring-splice";
    case RelayKind::uring_recv_send: return "uring-recv-send";
    case RelayKind::sockmap: return "sockmap";
  }
  return "?";
}

Result<UniqueFd> listen_loopback(bool nonblocking, uint16_t& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0));
  if (!fd) return errno_error("relay: socket", errno).with("stage", "listen");
  auto a = loopback(0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd.get(), 1024) != 0) {
    return errno_error("relay: bind/listen on 127.0.0.1", errno).with("stage", "listen");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

Result<UniqueFd> connect_loopback(uint16_t port, bool nonblocking) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("relay: socket", errno).with("stage", "connect");
  set_nodelay(fd.get());
  auto a = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return errno_error("relay: connect to the backend", errno)
        .with("backend", "127.0.0.1:" + std::to_string(port))
        .with("stage", "connect");
  }
  if (nonblocking) ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  return fd;
}

void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Result<std::unique_ptr<Relay>> start_relay(RelayKind kind, uint16_t backend_port) {
  switch (kind) {
    case RelayKind::epoll_splice: return start_epoll_relay(backend_port);
    case RelayKind::uring_splice: return start_uring_relay(backend_port, true);
    case RelayKind::uring_recv_send: return start_uring_relay(backend_port, false);
    case RelayKind::sockmap: return start_sockmap_relay(backend_port);
  }
  return make_error(Errc::invalid_argument, "unknown relay kind");
}

}  // namespace seed::bench
