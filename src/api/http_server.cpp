#include "api/http_server.hpp"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "common/log.hpp"
#include "common/source_rate_limiter.hpp"

namespace seed::api {

struct HttpServer::ListenerState {
  std::string name;
  Router routes;
  HttpLimits limits;
  HttpStats* stats = nullptr;
  std::mutex limiter_mu;  // the limiter is shared by this listener's threads
  RateLimiter limiter{RateLimitConfig{}};
  MHD_Daemon* daemon = nullptr;
  std::shared_ptr<tls::TlsCredentials> tls;  // a TLS listener's certificate

  // Every open connection with the time by which its current request must be in whole. The
  // fd is our own dup of the connection's socket: shutdown() through it ends the connection
  // (libmicrohttpd sees EOF and closes it) and can never hit a reused descriptor number.
  struct Tracked {
    UniqueFd socket;
    std::chrono::steady_clock::time_point deadline;
    bool cut = false;
    bool nul_in_url = false;  // the request's URL decoded to a NUL byte (refused before routing)
  };
  std::mutex connections_mu;
  std::unordered_map<MHD_Connection*, Tracked> connections;

  void set_deadline(MHD_Connection* c, std::chrono::seconds from_now) {
    std::lock_guard lock(connections_mu);
    if (auto it = connections.find(c); it != connections.end()) {
      it->second.deadline = std::chrono::steady_clock::now() + from_now;
    }
  }
  // Cuts every connection past its deadline; how many.
  size_t cut_late_connections() {
    size_t n = 0;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(connections_mu);
    for (auto& [connection, t] : connections) {
      if (t.cut || now < t.deadline) continue;
      ::shutdown(t.socket.get(), SHUT_RDWR);
      t.cut = true;
      ++n;
    }
    return n;
  }
  void mark_nul_in_url(MHD_Connection* c) {
    std::lock_guard lock(connections_mu);
    if (auto it = connections.find(c); it != connections.end()) it->second.nul_in_url = true;
  }
  // Whether the current request's URL held an encoded NUL; clears it for the next request.
  bool take_nul_in_url(MHD_Connection* c) {
    std::lock_guard lock(connections_mu);
    auto it = connections.find(c);
    return it != connections.end() && std::exchange(it->second.nul_in_url, false);
  }
};

namespace {

using ListenerState = HttpServer::ListenerState;

// One request between libmicrohttpd's calls: the head, then body chunks, then the answer.
struct Pending {
  Request request;
  size_t max_body_bytes = 0;  // the listener's limit or the route's own
  // A body over the cap but under kDrainBytes is read and dropped, then this is the answer.
  std::optional<Response> refusal;
  size_t drained = 0;
};

// How much of an oversized body is read (and dropped) before the 413 goes out. Closing a
// connection whose client is still sending makes the kernel answer with a reset, which can
// reach the client (or a proxy in between, still writing the body) before the 413 does: it
// then sees an empty reply instead of the reason. Larger bodies are refused at once.
constexpr size_t kDrainBytes = 1u << 20;

Response too_large(size_t cap) {
  return problem(413, "urn:ietf:params:acme:error:malformed",
                 "the request body is larger than " + std::to_string(cap) + " bytes");
}

std::string peer_address(MHD_Connection* connection, sockaddr_storage* out) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "";
  const sockaddr* sa = info->client_addr;
  char text[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    std::memcpy(out, sa, sizeof(sockaddr_in));
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(out, sa, sizeof(sockaddr_in6));
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text, sizeof text);
  }
  return text;
}

MHD_Result collect(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* map = static_cast<std::map<std::string, std::string>*>(cls);
  std::string k = key != nullptr ? key : "";
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  (*map)[k] = value != nullptr ? value : "";
  return MHD_YES;
}

MHD_Result collect_query(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* map = static_cast<std::map<std::string, std::string>*>(cls);
  (*map)[key != nullptr ? key : ""] = value != nullptr ? value : "";
  return MHD_YES;
}

// A streamed body between libmicrohttpd's calls. Every chunk the client takes moves the
// connection's deadline on: a download that keeps flowing is never cut, one that stalls for the
// request timeout is.
struct StreamState {
  std::shared_ptr<BodyStream> stream;
  ListenerState* listener;
  MHD_Connection* connection;
};

ssize_t read_stream(void* cls, uint64_t /*pos*/, char* buf, size_t max) {
  auto& s = *static_cast<StreamState*>(cls);
  const ssize_t n = s.stream->read(buf, max);
  if (n < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
  if (n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
  s.listener->set_deadline(s.connection, std::chrono::seconds(s.listener->limits.request_timeout_s));
  return n;
}

void free_stream(void* cls) { delete static_cast<StreamState*>(cls); }

MHD_Result send(ListenerState& L, MHD_Connection* connection, const Response& r) {
  MHD_Response* response =
      r.stream ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, &read_stream,
                                                   new StreamState{r.stream, &L, connection}, &free_stream)
               : MHD_create_response_from_buffer(r.body.size(), const_cast<char*>(r.body.data()),
                                                 MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  if (!r.content_type.empty()) MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
  MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  for (const auto& [name, value] : r.headers) MHD_add_response_header(response, name.c_str(), value.c_str());
  MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
  MHD_destroy_response(response);
  return queued;
}

// Refusals decided from the head alone, before any body is read (libmicrohttpd then closes
// the connection after the answer instead of reading the rest).
std::optional<Response> refuse_early(ListenerState& L, const Request& request, const sockaddr_storage& source) {
  {
    std::lock_guard lock(L.limiter_mu);
    if (L.limiter.check(source, RateLimiter::Clock::now()) != RateLimiter::Verdict::allow) {
      L.stats->rate_limited.fetch_add(1, std::memory_order_relaxed);
      return problem(429, "urn:ietf:params:acme:error:rateLimited",
                     "too many requests from " + request.source + "; slow down and retry after a second")
          .with_header("Retry-After", "1");
    }
  }
  return std::nullopt;
}

// The declared Content-Length: nothing when absent (chunked), SIZE_MAX when unreadable.
std::optional<size_t> declared_length(const Request& request) {
  const std::string length = request.header("content-length");
  if (length.empty()) return std::nullopt;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(length.c_str(), &end, 10);
  if (end == length.c_str() || *end != '\0') return SIZE_MAX;
  return static_cast<size_t>(n);
}

MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method,
                      const char* /*version*/, const char* upload_data, size_t* upload_size, void** con_cls) {
  auto& L = *static_cast<ListenerState*>(cls);
  auto* pending = static_cast<Pending*>(*con_cls);
  if (pending == nullptr) {  // first call: the head is in
    L.stats->requests.fetch_add(1, std::memory_order_relaxed);
    auto owned = std::make_unique<Pending>();
    Request& r = owned->request;
    r.method = method;
    r.path = url;
    r.listener = L.name;
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &collect, &r.headers);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &collect_query, &r.query);
    sockaddr_storage source{};
    r.source = peer_address(connection, &source);
    if (L.take_nul_in_url(connection)) {
      return send(L, connection, problem(400, "about:blank", "the URL holds an encoded NUL byte (%00); no path or "
                                                             "name on this server contains one"));
    }
    owned->max_body_bytes = L.routes.max_body_bytes(r.method, r.path, L.limits.max_body_bytes);
    if (auto refusal = refuse_early(L, r, source)) return send(L, connection, *refusal);
    if (auto length = declared_length(r); length && *length > owned->max_body_bytes) {
      L.stats->too_large.fetch_add(1, std::memory_order_relaxed);
      if (*length > kDrainBytes) return send(L, connection, too_large(owned->max_body_bytes));
      owned->refusal = too_large(owned->max_body_bytes);  // answered once the body is in
    }
    // The head is in: the body must follow within the request deadline, however it trickles.
    L.set_deadline(connection, std::chrono::seconds(L.limits.request_timeout_s));
    *con_cls = owned.release();
    return MHD_YES;
  }
  Request& r = pending->request;
  if (*upload_size > 0) {
    if (!pending->refusal && r.body.size() + *upload_size > pending->max_body_bytes) {  // chunked: no length up front
      L.stats->too_large.fetch_add(1, std::memory_order_relaxed);
      pending->refusal = too_large(pending->max_body_bytes);
      pending->drained = r.body.size();
      r.body.clear();
    }
    if (pending->refusal) {
      pending->drained += *upload_size;
      *upload_size = 0;
      if (pending->drained > kDrainBytes) return send(L, connection, *pending->refusal);
      return MHD_YES;
    }
    r.body.append(upload_data, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  if (pending->refusal) return send(L, connection, *pending->refusal);
  Response response;
  try {
    response = L.routes.dispatch(r);
  } catch (const std::exception& e) {
    L.stats->handler_errors.fetch_add(1, std::memory_order_relaxed);
    log::error("api.handler.failed", {{"listener", L.name}, {"path", r.path}, {"error", e.what()}});
    response = problem(500, "urn:ietf:params:acme:error:serverInternal",
                       "seedd failed to answer this request; the node owner finds the cause in seedd's log");
  }
  return send(L, connection, response);
}

// A keep-alive connection may idle, then must send its next request whole in time.
std::chrono::seconds between_requests(const HttpLimits& limits) {
  return std::chrono::seconds(limits.idle_timeout_s + limits.request_timeout_s);
}

void on_completed(void* cls, MHD_Connection* connection, void** con_cls, MHD_RequestTerminationCode) {
  delete static_cast<Pending*>(*con_cls);
  *con_cls = nullptr;
  auto& L = *static_cast<ListenerState*>(cls);
  L.set_deadline(connection, between_requests(L.limits));
}

// libmicrohttpd's certificate callback carries no context of its own and its gnutls session's
// transport is the connection's socket number: which TLS listener a socket belongs to is
// recorded here while the connection lives (on_connection), for on_certificate.
std::mutex tls_sockets_mu;
std::unordered_map<int, ListenerState*> tls_sockets;

void on_connection(void* cls, MHD_Connection* connection, void**, MHD_ConnectionNotificationCode code) {
  auto& L = *static_cast<ListenerState*>(cls);
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (L.tls && info != nullptr) {
    std::lock_guard lock(tls_sockets_mu);
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) tls_sockets.erase(info->connect_fd);
    else tls_sockets[info->connect_fd] = &L;
  }
  std::lock_guard lock(L.connections_mu);
  if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    L.connections.erase(connection);
    return;
  }
  if (info == nullptr) return;
  UniqueFd own(::fcntl(info->connect_fd, F_DUPFD_CLOEXEC, 0));
  if (!own) return;  // out of fds: the idle timeout and the per-source cap still bound it
  L.connections[connection] = {std::move(own), std::chrono::steady_clock::now() + between_requests(L.limits)};
}

// libmicrohttpd's own percent-decoding, plus a note when it produced a NUL: the handler would
// otherwise see the path cut short at it ("a%00b" as "a") and could serve the wrong thing.
size_t unescape(void* cls, MHD_Connection* connection, char* text) {
  const size_t n = MHD_http_unescape(text);
  if (std::strlen(text) != n) static_cast<ListenerState*>(cls)->mark_nul_in_url(connection);
  return n;
}

// MHD_OPTION_HTTPS_CERT_CALLBACK: the certificate of the listener the session's socket
// belongs to (tls_sockets), as it is at this handshake.
int on_certificate(gnutls_session_t session, const gnutls_datum_t*, int, const gnutls_pk_algorithm_t*, int,
                   gnutls_pcert_st** pcert, unsigned int* pcert_length, gnutls_privkey_t* key) {
  ListenerState* L = nullptr;
  {
    std::lock_guard lock(tls_sockets_mu);
    auto it = tls_sockets.find(gnutls_transport_get_int(session));
    if (it != tls_sockets.end()) L = it->second;
  }
  if (L == nullptr || !L->tls) return -1;
  const int rc = L->tls->retrieve(pcert, pcert_length, key);
  if (rc != 0) log::warn("api.tls.no_certificate", {{"listener", L->name}, {"hint", "seedd's own certificate is not there yet; see tls.certificate.* in seedd's log"}});
  return rc;
}

void on_mhd_log(void* cls, const char* format, va_list args) {
  char text[512];
  std::vsnprintf(text, sizeof text, format, args);
  std::string message = text;
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  // A connection the ingress hands over (add_connection) is a Unix socketpair: libmicrohttpd
  // tries its TCP tuning on it, which such a socket does not support and does not need (it has
  // no Nagle delay). Those are debug, not a warning per request.
  for (const char* tcp_only : {"Setting TCP_NODELAY", "Setting TCP_CORK", "Failed to push the data from buffers"}) {
    if (message.starts_with(tcp_only)) {
      log::debug("api.http", {{"listener", static_cast<ListenerState*>(cls)->name}, {"message", message}});
      return;
    }
  }
  log::warn("api.http", {{"listener", static_cast<ListenerState*>(cls)->name}, {"message", message}});
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(std::vector<Listener> listeners, HttpLimits limits) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  for (auto& l : listeners) {
    auto state = std::make_unique<ListenerState>();
    state->name = l.name;
    state->routes = std::move(l.routes);
    state->limits = limits;
    state->stats = &server->stats_;
    state->limiter = RateLimiter(RateLimitConfig{limits.requests_per_second, limits.burst, 4096, 0});
    state->tls = l.tls;
    const int fd = l.socket ? l.socket.get() : -1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (!l.socket) flags |= MHD_USE_NO_LISTEN_SOCKET;
    // Per listener: its socket (none: connections only come by add_connection) and, for TLS,
    // the certificate callback in place of MHD_OPTION_HTTPS_MEM_CERT/KEY.
    std::vector<MHD_OptionItem> per_listener;
    if (l.socket) per_listener.push_back({MHD_OPTION_LISTEN_SOCKET, fd, nullptr});
    if (l.tls) {
      flags |= MHD_USE_TLS;
      per_listener.push_back({MHD_OPTION_HTTPS_CERT_CALLBACK, 0, reinterpret_cast<void*>(&on_certificate)});
    }
    per_listener.push_back({MHD_OPTION_END, 0, nullptr});
    state->daemon = MHD_start_daemon(
        flags, 0, nullptr, nullptr, &on_request,
        state.get(), MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, state.get(), MHD_OPTION_ARRAY, per_listener.data(), MHD_OPTION_THREAD_POOL_SIZE, std::max(1u, limits.threads),
        MHD_OPTION_CONNECTION_LIMIT, limits.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        limits.max_per_source, MHD_OPTION_CONNECTION_TIMEOUT, limits.idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits.memory_per_connection, MHD_OPTION_NOTIFY_COMPLETED,
        &on_completed, state.get(), MHD_OPTION_NOTIFY_CONNECTION, &on_connection, state.get(), MHD_OPTION_UNESCAPE_CALLBACK, &unescape,
        state.get(), MHD_OPTION_END);
    if (state->daemon == nullptr) {
      // `server` stops what already runs; the remaining sockets close with `listeners`.
      return make_error(Errc::internal, "the HTTP server could not start its " + l.name + " listener")
          .with("stage", "start")
          .with("hint", "seedd's log has libmicrohttpd's reason");
    }
    (void)l.socket.release();  // libmicrohttpd owns and closes it now
    log::info("api.listening", {{"listener", l.name}});
    server->listeners_.push_back(std::move(state));
  }
  server->sweeper_ = std::thread([s = server.get()] { s->sweep(); });
  return server;
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::add_connection(std::string_view listener, UniqueFd connection, const sockaddr* client,
                                  socklen_t client_len) {
  for (auto& l : listeners_) {
    if (l->name != listener) continue;
    if (l->daemon == nullptr) return make_error(Errc::unavailable, "the HTTP server is stopping");
    // libmicrohttpd owns the socket from here, on success and on failure alike (it closes it).
    // MHD_USE_ITC wakes its polling thread to take it.
    if (MHD_add_connection(l->daemon, connection.release(), client, client_len) != MHD_YES) {
      return make_error(Errc::unavailable, "the HTTP server refused a handed-over connection")
          .with("listener", std::string(listener))
          .with("hint", "at its connection limit (total or per source); seedd's log has libmicrohttpd's reason");
    }
    return ok();
  }
  return make_error(Errc::not_found, "no such HTTP listener").with("listener", std::string(listener));
}

void HttpServer::sweep() {
  std::unique_lock lock(sweep_mu_);
  while (!stopping_) {
    sweep_cv_.wait_for(lock, std::chrono::milliseconds(250));
    for (auto& l : listeners_) {
      if (size_t n = l->cut_late_connections()) {
        stats_.deadline_cuts.fetch_add(n, std::memory_order_relaxed);
        log::info("api.deadline", {{"listener", l->name}, {"connections", n}});
      }
    }
  }
}

void HttpServer::stop() {
  {
    std::lock_guard lock(sweep_mu_);
    stopping_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  for (auto& l : listeners_) {
    if (l->daemon != nullptr) MHD_stop_daemon(l->daemon);
    l->daemon = nullptr;
  }
}

}  // namespace seed::api
