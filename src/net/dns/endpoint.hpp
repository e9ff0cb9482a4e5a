// Socket addresses as text: "192.0.2.1:53", "[2001:db8::1]:53". The one parser of
// ADDRESS:PORT for seedd's listeners (DNS, ingress) and the DNS upstream.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed::net::dns {

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;

  uint16_t port() const;
  std::string to_string() const;  // "127.0.0.1:53", "[::1]:53"
};

// Port 0 is allowed (the kernel picks one); an address is required (no wildcard parsing
// tricks: "0.0.0.0:53" must be written out).
Result<Endpoint> parse_endpoint(std::string_view text);
// The text form of just the address part of a peer ("127.0.0.2").
std::string address_string(const sockaddr_storage& addr);

// Non-blocking, close-on-exec sockets bound to `at`. TCP ones listen with `backlog`.
Result<UniqueFd> bind_udp(const Endpoint& at);
Result<UniqueFd> bind_tcp(const Endpoint& at, int backlog);
// The address a socket actually got (port 0 resolved).
Result<Endpoint> local_endpoint(int fd);

}  // namespace seed::net::dns
