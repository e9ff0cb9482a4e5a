// The loop's plumbing: binding, accepting, dispatching epoll events, timeouts, closing.
// The per-connection data path is in connection_io.cpp.
#include "net/ingress/server_loop.hpp"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "net/ingress/responses.hpp"

namespace seed::net::ingress {

namespace {

constexpr auto kSweepEvery = std::chrono::milliseconds(100);
constexpr int kMaxEvents = 256;

Result<UniqueFd> bind_listener(const ListenerConfig& l, uint16_t& bound) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, l.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(l.port);
    len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, l.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(l.port);
    len = sizeof(sockaddr_in6);
  } else {
    return make_error(Errc::invalid_argument, "ingress listen address is not an IP address")
        .with("address", l.address)
        .with("hint", "use e.g. 0.0.0.0, :: or the node's public address");
  }
  const std::string where = l.address + ":" + std::to_string(l.port);
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("ingress: socket", errno).with("listen", where);
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return errno_error("ingress: cannot bind the listening port", errno)
        .with("listen", where)
        .with("hint", "another program (or a second seedd) holds this port; stop it or pick "
                      "another ingress port in the config");
  }
  if (::listen(fd.get(), 1024) != 0) return errno_error("ingress: listen", errno).with("listen", where);
  sockaddr_storage got{};
  socklen_t got_len = sizeof got;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&got), &got_len);
  bound = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                         : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
  return fd;
}

std::string source_key(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss).sin_addr;
    return std::string(reinterpret_cast<const char*>(&a), sizeof a);
  }
  const auto& a = reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr;
  return std::string(reinterpret_cast<const char*>(&a), sizeof a);
}

std::string source_text(const std::string& key) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(key.size() == 4 ? AF_INET : AF_INET6, key.data(), buf, sizeof buf);
  return buf;
}

}  // namespace

Server::Loop::Loop(ServerConfig config) : config_(std::move(config)) {
  routes_ = std::make_shared<const RoutingTable>();
}

Server::Loop::~Loop() { stop(); }

Status Server::Loop::bind_all() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return errno_error("ingress: epoll_create1", errno);
  wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) return errno_error("ingress: eventfd", errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &wake_ep_;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  listener_eps_.reserve(config_.listeners.size());  // stable addresses for epoll
  for (size_t i = 0; i < config_.listeners.size(); ++i) {
    uint16_t bound = 0;
    auto fd = bind_listener(config_.listeners[i], bound);
    if (!fd) return std::move(fd).error().with("stage", "runtime");
    listen_fds_.push_back(std::move(*fd));
    bound_.push_back(bound);
    listener_eps_.push_back(Endpoint{Endpoint::Kind::listener, nullptr, i});
    ev.data.ptr = &listener_eps_.back();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listen_fds_.back().get(), &ev) != 0) {
      return errno_error("ingress: epoll_ctl", errno);
    }
    log::info("ingress.listening", {{"address", config_.listeners[i].address},
                                    {"port", bound},
                                    {"public_port", config_.listeners[i].public_port},
                                    {"protocol", to_string(config_.listeners[i].protocol)}});
  }
  return ok();
}

void Server::Loop::start_thread() { thread_ = std::thread([this] { run(); }); }

void Server::Loop::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  thread_.join();
  conns_.clear();
  graveyard_.clear();
  per_source_.clear();
  listen_fds_.clear();
  stats_.open = 0;
}

void Server::Loop::set_local_backend(const std::string& name, LocalBackend receiver) {
  std::lock_guard lock(local_mu_);
  if (receiver) {
    local_backends_[name] = std::move(receiver);
  } else {
    local_backends_.erase(name);
  }
}

Status Server::Loop::set_routes(const DesiredRoutes& desired) {
  for (const auto& [port, names] : desired.ports) {
    bool served = false;
    for (const auto& l : config_.listeners) served = served || l.public_port == port;
    if (!served && !names.empty()) {
      return make_error(Errc::invalid_argument, "ingress routes for a port with no listener")
          .with("port", std::to_string(port))
          .with("hint", "add an ingress listener for this port to seedd's config, or expose "
                        "the instance on a port that has one");
    }
  }
  auto table = RoutingTable::build(desired);
  if (!table) return std::move(table).error();
  const size_t n = (*table)->size();
  {
    std::lock_guard lock(routes_mu_);
    routes_ = std::move(*table);
  }
  log::info("ingress.routes_replaced", {{"routes", n}});
  return ok();
}

std::shared_ptr<const RoutingTable> Server::Loop::routes() const {
  std::lock_guard lock(routes_mu_);
  return routes_;
}

ServerStats Server::Loop::stats() const {
  ServerStats s;
  s.accepted = stats_.accepted;
  s.refused_limit = stats_.refused_limit;
  s.routed = stats_.routed;
  s.unknown_name = stats_.unknown_name;
  s.bad_request = stats_.bad_request;
  s.timed_out = stats_.timed_out;
  s.backend_failed = stats_.backend_failed;
  s.open = stats_.open;
  return s;
}

std::vector<RouteBytes> Server::Loop::route_bytes() const {
  std::lock_guard lock(counters_mu_);
  std::vector<RouteBytes> out;
  out.reserve(route_counters_.size());
  for (const auto& [key, c] : route_counters_) {
    out.push_back({key.first, key.second, c->from_clients.load(), c->to_clients.load()});
  }
  return out;
}

RouteCounters& Server::Loop::counters_for(uint16_t port, const std::string& host) {
  std::lock_guard lock(counters_mu_);
  auto& slot = route_counters_[{port, host}];
  if (!slot) slot = std::make_unique<RouteCounters>();
  return *slot;
}

void Server::Loop::count_up(Conn& c, size_t n) {
  if (c.counters) c.counters->from_clients.fetch_add(n, std::memory_order_relaxed);
}

void Server::Loop::count_down(Conn& c, size_t n) {
  if (c.counters) c.counters->to_clients.fetch_add(n, std::memory_order_relaxed);
}

void Server::Loop::run() {
  // splice(2) into a socket the peer has closed raises SIGPIPE (it has no MSG_NOSIGNAL).
  // Blocked in this thread only, it stays pending and the call just fails with EPIPE.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  epoll_event events[kMaxEvents];
  now_ = Clock::now();
  next_sweep_ = now_ + kSweepEvery;
  while (!stopping_) {
    const int n = ::epoll_wait(epoll_.get(), events, kMaxEvents,
                               static_cast<int>(kSweepEvery.count()));
    now_ = Clock::now();
    for (int i = 0; i < n; ++i) {
      auto* ep = static_cast<Endpoint*>(events[i].data.ptr);
      switch (ep->kind) {
        case Endpoint::Kind::wake: break;
        case Endpoint::Kind::listener: on_accept(ep->listener); break;
        case Endpoint::Kind::client:
          if (ep->conn->phase != Conn::Phase::closed) on_client(*ep->conn, events[i].events);
          break;
        case Endpoint::Kind::backend:
          if (ep->conn->phase != Conn::Phase::closed) on_backend(*ep->conn, events[i].events);
          break;
      }
    }
    graveyard_.clear();
    if (now_ >= next_sweep_) {
      sweep();
      graveyard_.clear();
      next_sweep_ = now_ + kSweepEvery;
    }
  }
}

void Server::Loop::on_accept(size_t listener) {
  const ListenerConfig& lc = config_.listeners[listener];
  for (int i = 0; i < 64; ++i) {  // a bounded batch, so one busy port cannot starve the others
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd = ::accept4(listen_fds_[listener].get(), reinterpret_cast<sockaddr*>(&ss), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        log::warn("ingress.accept_failed", {{"error", std::strerror(errno)}});
      }
      return;
    }
    UniqueFd client(fd);
    ++stats_.accepted;
    std::string src = source_key(ss);
    size_t& from_src = per_source_[src];
    if (conns_.size() >= config_.max_connections || from_src >= config_.max_per_source) {
      ++stats_.refused_limit;
      if (from_src == 0) per_source_.erase(src);
      log::debug("ingress.refused", {{"source", source_text(src)},
                                     {"reason", "connection limit"}});
      if (lc.protocol == Protocol::http) {
        const std::string r = error_response(503, "too many connections; retry later");
        [[maybe_unused]] auto sent = ::send(client.get(), r.data(), r.size(), MSG_NOSIGNAL);
      }
      continue;  // closing an unread socket resets it, which is the point
    }
    ++from_src;
    auto owned = std::make_unique<Conn>(config_.buffer_bytes);
    Conn& c = *owned;
    c.client_ep.conn = c.backend_ep.conn = &c;
    c.client = std::move(client);
    c.listener = listener;
    c.source = std::move(src);
    c.peer = ss;
    c.peer_len = len;
    c.deadline = now_ + config_.header_timeout;
    if (lc.protocol == Protocol::http) {
      c.http = std::make_unique<HttpStream>(HttpLimits{config_.max_head_bytes});
    }
    const int one = 1;
    ::setsockopt(c.client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = c.client_mask = EPOLLIN;
    ev.data.ptr = &c.client_ep;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.client.get(), &ev);
    conns_.emplace(&c, std::move(owned));
    stats_.open = conns_.size();
  }
}

void Server::Loop::update_masks(Conn& c) {
  if (c.phase == Conn::Phase::closed) return;
  uint32_t cm = 0, bm = 0;
  const bool forwarding = c.phase == Conn::Phase::forwarding;
  const bool up_room = c.up_spliced() ? c.up_piped < c.up_pipe_cap : c.up.has_room();
  if (!c.client_eof && (c.phase == Conn::Phase::reading || c.phase == Conn::Phase::replying ||
                        (forwarding && c.up_failed) || (forwarding && !c.stop_client && up_room))) {
    cm |= EPOLLIN;
  }
  if (c.down_pending()) cm |= EPOLLOUT;
  if (c.phase == Conn::Phase::connecting) bm |= EPOLLOUT;
  if (forwarding) {
    const bool down_room = c.down_pipe[1] ? c.down_piped < c.down_pipe_cap : c.down.has_room();
    if (!c.backend_eof && down_room) bm |= EPOLLIN;
    const uint64_t ready = c.http ? std::min<uint64_t>(c.http->committed(), c.up_in) : c.up_in;
    if (!c.up_failed && (ready > c.up_out || c.up_piped > 0)) bm |= EPOLLOUT;
  }
  // A socket we want nothing from is taken out of the set: epoll reports a hang-up even with
  // an empty mask, which would spin the loop while a full buffer waits for a slow reader.
  auto apply = [this](const UniqueFd& fd, uint32_t& current, uint32_t want, Endpoint& ep) {
    if (!fd || want == current) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.ptr = &ep;
    const int op = current == 0 ? EPOLL_CTL_ADD : want == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    ::epoll_ctl(epoll_.get(), op, fd.get(), &ev);
    current = want;
  };
  apply(c.client, c.client_mask, cm, c.client_ep);
  apply(c.backend, c.backend_mask, bm, c.backend_ep);
}

void Server::Loop::drop(UniqueFd& fd) {
  // Deregister explicitly: close() alone leaves the registration alive while a forked child
  // (any spawn() in this process, between fork and exec) still holds the descriptor, and its
  // events would then point at a freed connection.
  if (fd) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd.get(), nullptr);
  fd.reset();
}

void Server::Loop::close(Conn& c, const char* why) {
  if (c.phase == Conn::Phase::closed) return;
  log::debug("ingress.closed", {{"source", source_text(c.source)}, {"host", c.host},
                                {"reason", why}});
  c.phase = Conn::Phase::closed;
  drop(c.client);
  drop(c.backend);
  for (auto* p : {&c.up_pipe[0], &c.up_pipe[1], &c.down_pipe[0], &c.down_pipe[1]}) p->reset();
  auto src = per_source_.find(c.source);
  if (src != per_source_.end() && --src->second == 0) per_source_.erase(src);
  auto it = conns_.find(&c);
  if (it != conns_.end()) {
    graveyard_.push_back(std::move(it->second));
    conns_.erase(it);
  }
  stats_.open = conns_.size();
}

void Server::Loop::sweep() {
  std::vector<Conn*> expired;
  for (auto& [ptr, conn] : conns_) {
    if (now_ >= conn->deadline) expired.push_back(ptr);
  }
  for (Conn* c : expired) {
    switch (c->phase) {
      case Conn::Phase::reading:
        ++stats_.timed_out;
        if (c->http) {
          http_error(*c, 408, "the request head did not arrive within " +
                                  std::to_string(config_.header_timeout.count()) + " ms");
        } else {
          close(*c, "ClientHello timeout");
        }
        break;
      case Conn::Phase::connecting:
        ++stats_.backend_failed;
        if (c->http) {
          http_error(*c, 502, "the instance serving '" + c->host + "' did not accept the "
                              "connection in time; it may be starting or overloaded");
        } else {
          close(*c, "backend connect timeout");
        }
        break;
      case Conn::Phase::forwarding: close(*c, "idle timeout"); break;
      case Conn::Phase::replying: close(*c, "reply drained"); break;
      case Conn::Phase::closed: break;
    }
  }
}

}  // namespace seed::net::ingress
