// The ingress server: one listening socket per public port, shared by every instance.
// Plain-HTTP listeners route by the Host header, TLS listeners (https, grpc) by the SNI of
// the ClientHello, which is never decrypted: the instance holds its own certificate.
//
// One event-loop thread owns every socket. start() binds all listeners before it returns (so
// a busy port is reported to the caller), stop() or the destructor joins the thread and closes
// every connection. set_routes() may be called from any thread; it swaps the whole table.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "net/ingress/routing_table.hpp"

namespace seed::net::ingress {

struct ListenerConfig {
  std::string address = "0.0.0.0";  // IPv4 or IPv6 literal to bind
  uint16_t port = 0;                 // port to bind; 0 picks a free one (tests)
  uint16_t public_port = 0;          // the key routes use (80, 443, …); defaults to `port`
  Protocol protocol = Protocol::http;
};

struct ServerConfig {
  std::vector<ListenerConfig> listeners;
  size_t max_connections = 4096;       // beyond it new connections are refused
  size_t max_per_source = 256;         // per client IP address
  size_t max_head_bytes = 16 * 1024;   // HTTP request head limit (431 beyond)
  size_t buffer_bytes = 64 * 1024;     // per direction, per connection
  // Forward through pipes with splice(2) (zero-copy) instead of recv/send through the
  // buffers; see docs/ingress.md for the measurements behind the default.
  bool splice = true;
  // Capacity asked for each splice pipe (F_SETPIPE_SZ; the kernel rounds up to a power of two
  // of pages and may refuse beyond /proc/sys/fs/pipe-max-size, keeping 64 KiB). 256 KiB takes
  // about half the splices of Linux's default 64 KiB per large response (docs/ingress.md);
  // it bounds what one direction of one connection holds in the kernel between the sockets.
  size_t pipe_bytes = 256 * 1024;
  std::chrono::milliseconds header_timeout{10'000};   // head / ClientHello must arrive (408)
  std::chrono::milliseconds connect_timeout{5'000};   // backend connect (502)
  std::chrono::milliseconds idle_timeout{300'000};    // no byte moved either way: close
};

struct ServerStats {
  uint64_t accepted = 0;
  uint64_t refused_limit = 0;
  uint64_t routed = 0;
  uint64_t unknown_name = 0;
  uint64_t bad_request = 0;
  uint64_t timed_out = 0;
  uint64_t backend_failed = 0;
  size_t open = 0;
};

// An in-process backend (seedd's own public HTTP listener): it takes one end of a connected
// socketpair together with the client's address, so per-source limits and logs see the real
// client rather than the ingress's loopback address. Runs on the loop thread: must not block.
using LocalBackend = std::function<Status(UniqueFd connection, const sockaddr* client, socklen_t client_len)>;

// Bytes forwarded on one route (a public port and hostname) since the server started, counted
// as they are written: from clients to the backend, and from the backend to clients. Routes
// later removed keep their totals (counters never go back), so the list only grows with the
// names ever routed, never with names clients merely asked for.
struct RouteBytes {
  uint16_t port = 0;
  std::string host;
  uint64_t from_clients = 0;
  uint64_t to_clients = 0;
};

class Server {
 public:
  // Binds every listener and starts the loop thread. Errc::invalid_argument for a bad
  // config, errno errors (naming address:port) when a port cannot be bound.
  static Result<std::unique_ptr<Server>> start(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Replaces the routing table atomically. Connections already forwarding keep their
  // backend; new requests use the new table. Errors leave the old table in place.
  Status set_routes(const DesiredRoutes& routes);

  // Registers (or, with an empty function, removes) the receiver of routes whose
  // BackendAddr::local is `name`. Without one such routes connect to their ip:port. The
  // receiver is called on the loop thread; removal waits for no call to be in progress.
  void set_local_backend(const std::string& name, LocalBackend receiver);

  // The port actually bound by listener i (differs from config when it asked for 0).
  uint16_t bound_port(size_t listener) const;
  ServerStats stats() const;
  std::vector<RouteBytes> route_bytes() const;  // sorted by port, then host

  // Closes listeners and connections and joins the loop. Idempotent.
  void stop();

  class Loop;  // the event loop (server_loop.cpp)

 private:
  explicit Server(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
};

}  // namespace seed::net::ingress
