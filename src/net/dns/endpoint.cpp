#include "net/dns/endpoint.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace seed::net::dns {

uint16_t Endpoint::port() const {
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
}

std::string address_string(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, buf, sizeof buf);
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::string Endpoint::to_string() const {
  std::string a = address_string(addr);
  if (addr.ss_family == AF_INET6) a = "[" + a + "]";
  return a + ":" + std::to_string(port());
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  auto bad = [&](std::string why) {
    return make_error(Errc::invalid_argument, "'" + std::string(text) + "' is not ADDRESS:PORT: " + why)
        .with("value", std::string(text))
        .with("hint", "write ADDRESS:PORT, e.g. 10.0.0.1:53 or [fd00::1]:53");
  };
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find("]:");
    if (close == std::string_view::npos) return bad("missing ']:port'");
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing ':port'");
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return bad("port is not a number from 0 to 65535");
  }
  Endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(port));
    e.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(port));
    e.len = sizeof(sockaddr_in6);
  } else {
    return bad("not an IPv4 or IPv6 address");
  }
  return e;
}

namespace {

Result<UniqueFd> bound_socket(const Endpoint& at, int type) {
  UniqueFd fd(::socket(at.addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket", errno).with("address", at.to_string());
  int one = 1;
  // TCP only: restart despite TIME_WAIT. On UDP, Linux would let a second server share the
  // port silently, which must instead fail loudly.
  if (type == SOCK_STREAM) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (at.addr.ss_family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&at.addr), at.len) != 0) {
    // Generic wording: the DNS server, the ingress and the HTTP API all bind through here.
    return errno_error(std::string("bind ") + (type == SOCK_DGRAM ? "udp " : "tcp ") + at.to_string(), errno)
        .with("address", at.to_string())
        .with("proto", type == SOCK_DGRAM ? "udp" : "tcp")
        .with("hint", "is another program listening on this address, or is the address not configured on this host?");
  }
  return fd;
}

}  // namespace

Result<UniqueFd> bind_udp(const Endpoint& at) { return bound_socket(at, SOCK_DGRAM); }

Result<UniqueFd> bind_tcp(const Endpoint& at, int backlog) {
  auto fd = SEED_TRY(bound_socket(at, SOCK_STREAM));
  if (::listen(fd.get(), backlog) != 0) return errno_error("listen", errno).with("address", at.to_string());
  return fd;
}

Result<Endpoint> local_endpoint(int fd) {
  Endpoint e;
  e.len = sizeof e.addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&e.addr), &e.len) != 0) {
    return errno_error("getsockname", errno);
  }
  return e;
}

}  // namespace seed::net::dns
