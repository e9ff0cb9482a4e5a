#include "net/testing/probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <stdexcept>

namespace seed::net::testing {
namespace {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const { return storage.ss_family; }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

// IPv6 when the text has a ':'; empty means the wildcard address of `family`.
SockAddr addr_of(const std::string& ip, uint16_t port, int family = AF_INET) {
  SockAddr out;
  if (!ip.empty()) family = ip.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out.storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_any;
    if (!ip.empty() && ::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) != 1) {
      throw std::invalid_argument("bad IPv6 address " + ip);
    }
    out.len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&out.storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    if (!ip.empty() && ::inet_pton(AF_INET, ip.c_str(), &a->sin_addr) != 1) {
      throw std::invalid_argument("bad IPv4 address " + ip);
    }
    out.len = sizeof *a;
  }
  return out;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, int(timeout.count())) == 1 && (p.revents & POLLIN);
}

UniqueFd bound(int type, uint16_t port, int family) {
  UniqueFd fd(::socket(family, type | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  auto a = addr_of("", port, family);
  if (!fd || ::bind(fd.get(), a.get(), a.len) != 0) {
    throw std::runtime_error("bind to port " + std::to_string(port) + " failed");
  }
  return fd;
}

}  // namespace

UniqueFd udp_bind(uint16_t port, bool ipv6) {
  return bound(SOCK_DGRAM, port, ipv6 ? AF_INET6 : AF_INET);
}

Status udp_send(const std::string& source, const std::string& dest, uint16_t port,
                const std::string& payload) {
  auto d = addr_of(dest, port);
  UniqueFd fd(::socket(d.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket", errno);
  if (!source.empty()) {
    // FREEBIND binds to an address the namespace does not own; TRANSPARENT lets the route
    // lookup accept it as a source. Together: a forged source address.
    int one = 1;
    if (d.family() == AF_INET6) {
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof one);
    } else {
      ::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
      ::setsockopt(fd.get(), IPPROTO_IP, IP_TRANSPARENT, &one, sizeof one);
    }
    auto s = addr_of(source, 0);
    if (::bind(fd.get(), s.get(), s.len) != 0) return errno_error("bind " + source, errno);
  }
  if (::sendto(fd.get(), payload.data(), payload.size(), 0, d.get(), d.len) < 0) {
    return errno_error("sendto " + dest, errno);
  }
  return ok();
}

std::optional<Datagram> udp_wait(int fd, std::chrono::milliseconds timeout) {
  if (!wait_readable(fd, timeout)) return std::nullopt;
  char buf[1500];
  SockAddr from;
  from.len = sizeof from.storage;
  ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, from.get(), &from.len);
  if (n < 0) return std::nullopt;
  char ip[INET6_ADDRSTRLEN] = "";
  if (from.family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&from.storage)->sin6_addr, ip, sizeof ip);
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&from.storage)->sin_addr, ip, sizeof ip);
  }
  return Datagram{std::string(buf, size_t(n)), ip};
}

UniqueFd tcp_listen(uint16_t port) {
  UniqueFd fd = bound(SOCK_STREAM, port, AF_INET);
  if (::listen(fd.get(), 8) != 0) throw std::runtime_error("listen failed");
  return fd;
}

Result<UniqueFd> tcp_connect(const std::string& dest, uint16_t port,
                             std::chrono::milliseconds timeout) {
  auto d = addr_of(dest, port);
  UniqueFd fd(::socket(d.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return errno_error("socket", errno);
  if (::connect(fd.get(), d.get(), d.len) != 0 && errno != EINPROGRESS) {
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
