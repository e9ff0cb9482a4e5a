// The DNS server object: listeners on configured addresses, one event-loop thread, start and
// stop. Public listeners answer only the zone (REFUSED elsewhere, RA=0); guest listeners (on
// the bridge address) also resolve short names in the caller's namespace and forward the
// rest upstream. Both are rate limited per source and send at most max_udp_payload over UDP.
//
// The server reads the ZoneStore it is given; the caller keeps the store alive for as long as
// the server runs and updates it from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "net/dns/endpoint.hpp"
#include "common/source_rate_limiter.hpp"
#include "net/dns/responder.hpp"
#include "net/dns/zone_store.hpp"

namespace seed::net::dns {

struct ServerConfig {
  std::vector<std::string> public_listen;  // "ADDRESS:PORT", UDP and TCP on each
  std::vector<std::string> guest_listen;
  std::string upstream;  // guests' resolver, "ADDRESS:PORT"; empty: non-zone names REFUSED
  std::chrono::milliseconds upstream_timeout{2000};
  size_t max_forwards_in_flight = 512;
  // TCP (RFC 7766) is where one client can hold server resources: every connection is
  // bounded in number, per source address, in time between messages, in time to deliver one
  // message once it has begun, and in total life. A client that hits a bound is closed and
  // reconnects, as RFC 7766 §6.2.3 expects of it.
  size_t max_tcp_connections = 256;
  size_t max_tcp_per_source = 16;                        // per client IP address
  std::chrono::milliseconds tcp_idle_timeout{10000};     // no message begun, nothing to send
  std::chrono::milliseconds tcp_message_timeout{5000};   // first byte of a message → its last
  std::chrono::milliseconds tcp_max_life{120000};        // accept → close, however busy
  RateLimitConfig rate_limit;
  ResponderLimits limits;
  // Guest source address → its tenant namespace. Trustworthy because the bridge's
  // anti-spoofing rules pin each tap to its address. nullopt: unknown source (no short names).
  // Called on the server's own thread for every guest query: keep it quick and thread-safe.
  std::function<std::optional<std::string>(const sockaddr_storage&)> namespace_of;
};

struct ServerStats {
  std::atomic<uint64_t> udp_queries{0}, tcp_queries{0}, answered{0}, formerr{0}, rate_limited{0},
      forwarded{0}, upstream_failures{0}, tcp_accepted{0}, tcp_rejected{0}, tcp_open{0},
      tcp_timed_out{0};
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> start(ServerConfig config, const ZoneStore& zone);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops the loop, closes every socket and connection; idempotent.
  void stop();
  // The addresses actually bound (port 0 resolved), public first, then guest.
  const std::vector<Endpoint>& public_endpoints() const { return public_bound_; }
  const std::vector<Endpoint>& guest_endpoints() const { return guest_bound_; }
  const ServerStats& stats() const { return stats_; }

 private:
  class Loop;
  Server() = default;

  std::vector<Endpoint> public_bound_, guest_bound_;
  ServerStats stats_;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace seed::net::dns
