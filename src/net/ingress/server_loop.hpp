// The ingress event loop (internal to server.cpp): epoll over the listeners and both sockets
// of every connection, level-triggered, one thread. Each connection moves through
//   reading (head / ClientHello) → connecting (backend) → forwarding → closed,
// or → replying (an error page or TLS alert, then drain and close).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/fd.hpp"
#include "net/ingress/byte_buffer.hpp"
#include "net/ingress/http_stream.hpp"
#include "net/ingress/server.hpp"

namespace seed::net::ingress {

struct Conn;

// One route's byte totals: written by the loop thread, read by whoever asks for route_bytes().
struct RouteCounters {
  std::atomic<uint64_t> from_clients{0}, to_clients{0};
};

// What an epoll event points at.
struct Endpoint {
  enum class Kind { listener, wake, client, backend } kind;
  Conn* conn = nullptr;
  size_t listener = 0;
};

using Clock = std::chrono::steady_clock;

struct Conn {
  enum class Phase { reading, connecting, forwarding, replying, closed };
  Conn(size_t buffer_bytes) : up(buffer_bytes), down(buffer_bytes) {}

  Endpoint client_ep{Endpoint::Kind::client};
  Endpoint backend_ep{Endpoint::Kind::backend};
  UniqueFd client, backend;
  uint32_t client_mask = 0, backend_mask = 0;
  size_t listener = 0;
  std::string source;  // raw address bytes: the per-source limit's key
  sockaddr_storage peer{};  // the client's address, handed on to a LocalBackend
  socklen_t peer_len = 0;
  Phase phase = Phase::reading;
  ByteBuffer up;    // client → backend
  ByteBuffer down;  // backend → client (or our own reply)
  uint64_t up_in = 0, up_out = 0;  // totals read from the client / written to the backend
  std::unique_ptr<HttpStream> http;  // plain-HTTP listeners only
  std::string host;
  RouteCounters* counters = nullptr;  // set once connected to the route's backend
  bool client_eof = false, backend_eof = false;
  bool stop_client = false;  // no more client bytes will be forwarded (Host changed, error)
  bool up_shut = false;      // we sent FIN to the backend
  // The backend stopped taking the request (closed after answering early, e.g. a 413 before
  // the body): nothing more goes up, and its answer is still read and delivered.
  bool up_failed = false;
  Clock::time_point deadline;
  // Splice mode: once forwarding, bytes go socket → pipe → socket and never enter user
  // space. down always; up only for TLS (plain HTTP's client bytes must be parsed).
  UniqueFd up_pipe[2], down_pipe[2];
  size_t up_piped = 0, down_piped = 0;
  size_t up_pipe_cap = 0, down_pipe_cap = 0;  // what each pipe really holds (F_GETPIPE_SZ)
  bool up_spliced() const { return up_pipe[0].valid() && up.empty(); }
  bool down_pending() const { return !down.empty() || down_piped > 0; }
};

class Server::Loop {
 public:
  explicit Loop(ServerConfig config);
  ~Loop();

  Status bind_all();
  void start_thread();
  void stop();

  Status set_routes(const DesiredRoutes& routes);
  void set_local_backend(const std::string& name, LocalBackend receiver);
  uint16_t bound_port(size_t i) const { return i < bound_.size() ? bound_[i] : 0; }
  ServerStats stats() const;
  std::vector<RouteBytes> route_bytes() const;

 private:
  RouteCounters& counters_for(uint16_t port, const std::string& host);
  void count_up(Conn& c, size_t n);
  void count_down(Conn& c, size_t n);

  void run();
  void on_accept(size_t listener);
  void on_client(Conn& c, uint32_t events);
  void on_backend(Conn& c, uint32_t events);
  void route(Conn& c);
  void connect_backend(Conn& c, const Backend& b);
  bool hand_to_local(Conn& c, const Backend& b);
  void watch_connect(Conn& c, const Backend& b);
  void on_connected(Conn& c);
  void open_pipes(Conn& c);
  void read_client(Conn& c);
  void read_backend(Conn& c);
  void flush_up(Conn& c);
  void backend_stopped_reading(Conn& c);
  void backend_read_failed(Conn& c);
  void flush_down(Conn& c);
  void after_io(Conn& c);
  void moved(Conn& c);
  void reply(Conn& c, const std::string& bytes, const char* why);
  void http_error(Conn& c, int status, const std::string& detail);
  void close(Conn& c, const char* why);
  void drop(UniqueFd& fd);
  void update_masks(Conn& c);
  void sweep();
  std::shared_ptr<const RoutingTable> routes() const;

  ServerConfig config_;
  std::vector<UniqueFd> listen_fds_;
  std::vector<uint16_t> bound_;
  std::vector<Endpoint> listener_eps_;
  UniqueFd epoll_, wake_;
  Endpoint wake_ep_{Endpoint::Kind::wake};
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex routes_mu_;
  std::mutex local_mu_;  // held while a LocalBackend runs, so removing one waits for it
  std::map<std::string, LocalBackend, std::less<>> local_backends_;
  std::shared_ptr<const RoutingTable> routes_;

  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Conn>> graveyard_;  // freed after the current epoll batch
  std::unordered_map<std::string, size_t> per_source_;
  Clock::time_point now_;
  Clock::time_point next_sweep_;

  struct AtomicStats {
    std::atomic<uint64_t> accepted{0}, refused_limit{0}, routed{0}, unknown_name{0},
        bad_request{0}, timed_out{0}, backend_failed{0};
    std::atomic<size_t> open{0};
  };
  AtomicStats stats_;

  // Entries are added by the loop thread and never removed, so a Conn may keep a pointer.
  mutable std::mutex counters_mu_;
  std::map<std::pair<uint16_t, std::string>, std::unique_ptr<RouteCounters>> route_counters_;
};

}  // namespace seed::net::ingress
