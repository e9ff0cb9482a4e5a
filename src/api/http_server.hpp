// seedd's HTTP server (libmicrohttpd): one or more listeners, each with its own Router and its
// own sockets, so a route can only ever answer on the listener it was added to (DESIGN.md §11:
// the guest listener on the bridge address, the public one behind the ingress, the admin one on
// loopback). Sockets arrive bound and listening (seedd binds them, so a busy port is seedd's
// start error and tests can use port 0). Adding a listener is one more entry in the vector.
//
// Bounds, all from HttpLimits: total and per-source connections, an idle timeout, a deadline
// by which each request must be in whole (libmicrohttpd's own timeout is for inactivity only,
// which a client sending a byte a second never triggers: a sweeper thread cuts such
// connections), the head's size (libmicrohttpd's per-connection memory
// pool: a larger head gets 431), the body's size (413 before the body is read), and a request
// rate per source (429 with Retry-After). Every refusal is one problem document.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/router.hpp"
#include "api/tls/tls_credentials.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed::api {

struct HttpLimits {
  unsigned max_connections = 512;   // per listener
  unsigned max_per_source = 32;     // per listener and source address
  unsigned idle_timeout_s = 30;     // a connection with nothing to read or write
  unsigned request_timeout_s = 60;  // once the head is in: the body and the answer
  size_t memory_per_connection = 32 * 1024;  // bounds the head (read buffer + parsed headers)
  size_t max_body_bytes = 64 * 1024;
  double requests_per_second = 20;  // per source address (IPv6: per /56); 0 turns it off
  double burst = 40;
  unsigned threads = 2;             // per listener
};

struct Listener {
  std::string name;  // "guest", "public", "public-tls", "admin": handlers see it in Request::listener
  UniqueFd socket;   // bound and listening, non-blocking; none: connections only arrive by add_connection
  Router routes;
  // Set: the listener speaks TLS (libmicrohttpd over gnutls), serving whatever certificate
  // `tls` holds at each handshake; TlsCredentials::set swaps it while connections go on.
  std::shared_ptr<tls::TlsCredentials> tls{};
};

struct HttpStats {
  std::atomic<uint64_t> requests{0}, rate_limited{0}, too_large{0}, handler_errors{0}, deadline_cuts{0};
};

class HttpServer {
 public:
  // Starts every listener's threads; on failure nothing runs and every socket is closed.
  static Result<std::unique_ptr<HttpServer>> start(std::vector<Listener> listeners, HttpLimits limits);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves one already-connected socket on listener `listener` as if it had been accepted
  // there from `client` (libmicrohttpd's MHD_add_connection): the ingress hands seedd's own
  // names over this way, so per-source limits and logs see the real client address.
  // Errc::not_found for an unknown listener; the socket is closed on every error.
  Status add_connection(std::string_view listener, UniqueFd connection, const sockaddr* client, socklen_t client_len);

  // Closes the sockets and joins the threads; requests in flight finish first. Idempotent.
  void stop();
  const HttpStats& stats() const { return stats_; }

  struct ListenerState;  // libmicrohttpd's callbacks reach it; defined in the .cpp

 private:
  HttpServer() = default;
  void sweep();  // the deadline thread: every 250 ms, cuts connections past their deadline
  HttpStats stats_;
  std::vector<std::unique_ptr<ListenerState>> listeners_;
  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool stopping_ = false;
  std::thread sweeper_;
};

}  // namespace seed::api
