#include "net/testing/probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <stdexcept>

namespace seed::net::testing {
namespace {

sockaddr_in addr_of(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (ip.empty()) {
    a.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) {
    throw std::invalid_argument("bad IPv4 address " + ip);
  }
  return a;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, int(timeout.count())) == 1 && (p.revents & POLLIN);
}

UniqueFd bound(int type, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto a = addr_of("", port);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    throw std::runtime_error("bind to port " + std::to_string(port) + " failed");
  }
  return fd;
}

}  // namespace

UniqueFd udp_bind(uint16_t port) { return bound(SOCK_DGRAM, port); }

Status udp_send(const std::string& source, const std::string& dest, uint16_t port,
                const std::string& payload) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket", errno);
  if (!source.empty()) {
    // IP_FREEBIND binds to an address the namespace does not own; IP_TRANSPARENT lets the
    // route lookup accept it as a source. Together: a forged source address.
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    ::setsockopt(fd.get(), IPPROTO_IP, IP_TRANSPARENT, &one, sizeof one);
    auto s = addr_of(source, 0);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&s), sizeof s) != 0) {
      return errno_error("bind " + source, errno);
    }
  }
  auto d = addr_of(dest, port);
  if (::sendto(fd.get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&d),
               sizeof d) < 0) {
    return errno_error("sendto " + dest, errno);
  }
  return ok();
}

std::optional<Datagram> udp_wait(int fd, std::chrono::milliseconds timeout) {
  if (!wait_readable(fd, timeout)) return std::nullopt;
  char buf[1500];
  sockaddr_in from{};
  socklen_t len = sizeof from;
  ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0) return std::nullopt;
  char ip[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
  return Datagram{std::string(buf, size_t(n)), ip};
}

UniqueFd tcp_listen(uint16_t port) {
  UniqueFd fd = bound(SOCK_STREAM, port);
  if (::listen(fd.get(), 8) != 0) throw std::runtime_error("listen failed");
  return fd;
}

Result<UniqueFd> tcp_connect(const std::string& dest, uint16_t port,
                             std::chrono::milliseconds timeout) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno_error("socket", errno);
  auto d = addr_of(dest, port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&d), sizeof d) != 0 && errno != EINPROGRESS) {
    return errno_error("connect " + dest, errno);
  }
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, int(timeout.count())) != 1) {
    return make_error(Errc::timeout, "connect to " + dest + ":" + std::to_string(port) + " timed out");
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return errno_error("connect " + dest + ":" + std::to_string(port), err);
  return fd;
}

bool tcp_pending(int listen_fd, std::chrono::milliseconds timeout) {
  return wait_readable(listen_fd, timeout);
}

}  // namespace seed::net::testing
