// Real packets for the firewall tests (IPv4, and IPv6 for UDP). Sockets are made inside a namespace (via
// TestNetns::run) and keep belonging to it afterwards, so a test can bind a receiver in one
// namespace, send from another, and then wait on the receiver from its own thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed::net::testing {

struct Datagram {
  std::string payload;
  std::string source;  // the sender address as the receiver saw it (after NAT)
};

UniqueFd udp_bind(uint16_t port, bool ipv6 = false);  // 0.0.0.0 or [::]; throws on failure
// From `source` (may be empty, or an address not on any interface: a spoofing attempt).
Status udp_send(const std::string& source, const std::string& dest, uint16_t port,
                const std::string& payload);
std::optional<Datagram> udp_wait(int fd, std::chrono::milliseconds timeout);

UniqueFd tcp_listen(uint16_t port);  // throws on failure
Result<UniqueFd> tcp_connect(const std::string& dest, uint16_t port,
                             std::chrono::milliseconds timeout);
// True when a connection is waiting to be accepted within `timeout`.
bool tcp_pending(int listen_fd, std::chrono::milliseconds timeout);

}  // namespace seed::net::testing
