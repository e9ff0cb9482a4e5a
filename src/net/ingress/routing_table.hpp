// The ingress routing table: which backend serves a hostname on a public port.
//
// The reconcile engine describes what it wants as plain data (DesiredRoutes); build() checks
// it and produces an immutable table. The server swaps whole tables, so a connection that is
// being routed sees either the old table or the new one, never a half-applied mix.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::net::ingress {

// `tls` carries https and grpc alike: both are routed by SNI and never decrypted here.
enum class Protocol { http, tls };
std::string_view to_string(Protocol protocol);

struct BackendAddr {
  std::string ip;  // an IPv4 or IPv6 literal (the instance's address on the bridge)
  uint16_t port = 0;
  // The name of an in-process receiver (Server::set_local_backend) that takes the connection
  // with the client's own address; ip:port is where it goes while no receiver is registered.
  std::string local{};
};

// What the reconcile engine wants: for each public port, hostname → backend.
struct DesiredRoutes {
  std::map<uint16_t, std::map<std::string, BackendAddr>> ports;
};

struct Backend {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string text;  // "ip:port", for logs and error pages
  std::string local;  // BackendAddr::local
};

// Lower-cases and drops one trailing dot: DNS names compare case-insensitively and
// "a.example." is the same name as "a.example".
std::string normalize_host(std::string_view host);

// True for a syntactically valid DNS hostname (letters, digits, '-', '.', labels 1..63,
// total ≤ 253). Used for both configured names and names read off the wire.
bool valid_hostname(std::string_view host);

class RoutingTable {
 public:
  // Errc::invalid_argument naming the port and entry for a bad hostname or backend;
  // Errc::conflict when two entries differ only in case.
  static Result<std::shared_ptr<const RoutingTable>> build(const DesiredRoutes& desired);

  // `host` must already be normalized. nullptr when nothing serves it.
  const Backend* find(uint16_t public_port, std::string_view host) const;
  size_t size() const;

 private:
  std::map<uint16_t, std::map<std::string, Backend, std::less<>>> ports_;
};

}  // namespace seed::net::ingress
