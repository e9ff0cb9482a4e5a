#include "net/dns/server.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/log.hpp"
#include "net/dns/forwarder.hpp"

namespace seed::net::dns {

namespace {

using Clock = std::chrono::steady_clock;

// epoll tags: what kind of fd fired, and which one (index or id) in the low bits.
enum Kind : uint64_t { k_wake = 1, k_udp = 2, k_tcp_listen = 3, k_tcp_conn = 4, k_upstream = 5 };
uint64_t tag(Kind k, uint64_t index) { return uint64_t(k) << 56 | index; }

constexpr size_t udp_batch = 32;
constexpr size_t udp_query_buffer = 4096;  // larger queries are answered FORMERR
constexpr size_t tcp_out_high_water = 256 * 1024;
constexpr auto sweep_interval = std::chrono::milliseconds(100);

struct Listener {
  UniqueFd fd;
  bool guest = false;
};

struct TcpConn {
  UniqueFd fd;
  bool guest = false;
  sockaddr_storage peer{};
  std::string source;  // the peer's address: the per-source cap's key
  std::vector<uint8_t> in = std::vector<uint8_t>(2 + max_message);
  size_t in_len = 0;
  std::vector<uint8_t> out;
  size_t out_off = 0;
  Clock::time_point opened, last;
  std::optional<Clock::time_point> message_began;  // set while part of a message is buffered
  uint32_t events = 0;  // what epoll watches now
};

}  // namespace

class Server::Loop {
 public:
  Loop(ServerConfig config, const ZoneStore& zone, ServerStats& stats)
      : config_(std::move(config)), zone_(zone), stats_(stats), limiter_(config_.rate_limit),
        tcp_out_(2 + max_message) {
    for (auto& b : udp_in_) b.resize(udp_query_buffer);
    for (auto& b : udp_out_) b.resize(std::max(config_.limits.max_udp_payload, classic_udp_limit));
  }

  Status init(std::vector<Listener> udp, std::vector<Listener> tcp) {
    epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) return errno_error("epoll_create1", errno);
    wake_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake_) return errno_error("eventfd", errno);
    SEED_TRY(watch(wake_.get(), EPOLLIN, tag(k_wake, 0)));
    udp_ = std::move(udp);
    tcp_listen_ = std::move(tcp);
    for (size_t i = 0; i < udp_.size(); ++i) SEED_TRY(watch(udp_[i].fd.get(), EPOLLIN, tag(k_udp, i)));
    for (size_t i = 0; i < tcp_listen_.size(); ++i) {
      SEED_TRY(watch(tcp_listen_[i].fd.get(), EPOLLIN, tag(k_tcp_listen, i)));
    }
    if (!config_.upstream.empty()) {
      auto up = SEED_TRY(parse_endpoint(config_.upstream));
      forwarder_ = std::make_unique<Forwarder>(up, config_.upstream_timeout,
                                               std::max<size_t>(1, config_.max_forwards_in_flight));
    }
    return ok();
  }

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
  }

  void run() {
    std::array<epoll_event, 64> events;
    auto next_sweep = Clock::now() + sweep_interval;
    while (!stopping_) {
      int n = ::epoll_wait(epoll_.get(), events.data(), int(events.size()), int(sweep_interval.count()));
      if (n < 0 && errno != EINTR) {
        log::error("dns.loop_failed", {{"error", std::strerror(errno)}});
        return;
      }
      for (int i = 0; i < n; ++i) dispatch(events[size_t(i)]);
      auto now = Clock::now();
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + sweep_interval;
      }
    }
  }

 private:
  Status watch(int fd, uint32_t events, uint64_t t) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = t;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return errno_error("epoll_ctl add", errno);
    return ok();
  }

  void dispatch(const epoll_event& ev) {
    uint64_t index = ev.data.u64 & ((uint64_t(1) << 56) - 1);
    switch (Kind(ev.data.u64 >> 56)) {
      case k_wake: stopping_ = true; break;
      case k_udp: on_udp(udp_[index]); break;
      case k_tcp_listen: on_accept(tcp_listen_[index]); break;
      case k_tcp_conn: on_conn(index, ev.events); break;
      case k_upstream: {
        auto change = forwarder_->on_event(index, ev.events, [&](const ReplyRoute& r, std::span<const uint8_t> b) {
          deliver(r, b);
        });
        if (change) {
          epoll_event mod{};
          mod.events = *change;
          mod.data.u64 = ev.data.u64;
          int fd = forwarder_->fd_of(index);
          if (fd >= 0) ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &mod);
        }
        break;
      }
    }
  }

  Caller caller_for(bool guest, bool tcp, const sockaddr_storage& peer, std::optional<std::string>& ns) {
    Caller c;
    c.guest = guest;
    c.tcp = tcp;
    c.can_forward = guest && forwarder_ != nullptr;
    if (guest && config_.namespace_of) {
      ns = config_.namespace_of(peer);
      if (ns) c.ns = *ns;
    }
    return c;
  }

  void on_udp(Listener& l) {
    std::array<mmsghdr, udp_batch> in{};
    std::array<iovec, udp_batch> in_iov{};
    std::array<sockaddr_storage, udp_batch> peers{};
    std::array<mmsghdr, udp_batch> out{};
    std::array<iovec, udp_batch> out_iov{};
    // A bounded number of batches per wake-up, so one busy socket cannot starve the others.
    for (int round = 0; round < 16; ++round) {
      for (size_t i = 0; i < udp_batch; ++i) {
        in_iov[i] = {udp_in_[i].data(), udp_in_[i].size()};
        in[i].msg_hdr = {};
        in[i].msg_hdr.msg_name = &peers[i];
        in[i].msg_hdr.msg_namelen = sizeof peers[i];
        in[i].msg_hdr.msg_iov = &in_iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
      }
      int n = ::recvmmsg(l.fd.get(), in.data(), udp_batch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      auto now = Clock::now();
      size_t replies = 0;
      for (size_t i = 0; i < size_t(n); ++i) {
        stats_.udp_queries.fetch_add(1, std::memory_order_relaxed);
        std::span<const uint8_t> query(udp_in_[i].data(), in[i].msg_len);
        std::span<uint8_t> buf(udp_out_[replies]);
        size_t size = 0;
        auto verdict = limiter_.check(peers[i], now);
        if (verdict != RateLimiter::Verdict::allow) {
          stats_.rate_limited.fetch_add(1, std::memory_order_relaxed);
          if (verdict == RateLimiter::Verdict::drop) continue;
          size = error_response(query, Rcode::noerror, false, buf, true);
        } else if (in[i].msg_hdr.msg_flags & MSG_TRUNC) {
          stats_.formerr.fetch_add(1, std::memory_order_relaxed);
          size = error_response(query.first(header_size), Rcode::formerr, false, buf);
        } else {
          std::optional<std::string> ns;
          Caller c = caller_for(l.guest, false, peers[i], ns);
          Outcome o = respond(zone_.snapshot(), query, c, config_.limits, buf);
          if (o.action == Action::forward) {
            ReplyRoute route;
            route.udp_fd = l.fd.get();
            route.client = peers[i];
            route.client_len = in[i].msg_hdr.msg_namelen;
            forward(query, route, now);
            continue;
          }
          if (o.rcode == Rcode::formerr) stats_.formerr.fetch_add(1, std::memory_order_relaxed);
          size = o.action == Action::reply ? o.size : 0;
        }
        if (size == 0) continue;
        out_iov[replies] = {buf.data(), size};
        out[replies].msg_hdr = {};
        out[replies].msg_hdr.msg_name = &peers[i];
        out[replies].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
        out[replies].msg_hdr.msg_iov = &out_iov[replies];
        out[replies].msg_hdr.msg_iovlen = 1;
        ++replies;
      }
      // A full send buffer drops answers, like any UDP server under overload; clients retry.
      if (replies > 0) ::sendmmsg(l.fd.get(), out.data(), unsigned(replies), MSG_DONTWAIT);
      stats_.answered.fetch_add(replies, std::memory_order_relaxed);
      if (size_t(n) < udp_batch) return;
    }
  }

  void forward(std::span<const uint8_t> query, const ReplyRoute& route, Clock::time_point now) {
    auto sent = forwarder_->submit(query, route, now);
    if (sent) {
      if (watch(sent->fd, sent->events, tag(k_upstream, sent->slot))) {
        stats_.forwarded.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      forwarder_->cancel(sent->slot);
    }
    stats_.upstream_failures.fetch_add(1, std::memory_order_relaxed);
    std::vector<uint8_t> buf(classic_udp_limit);
    buf.resize(error_response(query, Rcode::servfail, true, buf));
    deliver(route, buf);
  }

  // An answer for a forwarded query (or our SERVFAIL) goes back the way the query came.
  void deliver(const ReplyRoute& r, std::span<const uint8_t> bytes) {
    if (r.tcp_conn != 0) {
      auto it = conns_.find(r.tcp_conn);
      if (it != conns_.end()) queue_tcp(it->first, it->second, bytes);
      return;
    }
    std::vector<uint8_t> truncated;
    if (bytes.size() > std::max(config_.limits.max_udp_payload, classic_udp_limit)) {
      // Never relay more over UDP than we would send ourselves: TC=1, the client retries on TCP.
      truncated.resize(classic_udp_limit);
      truncated.resize(error_response(bytes, Rcode::noerror, true, truncated, true));
      bytes = truncated;
    }
    ::sendto(r.udp_fd, bytes.data(), bytes.size(), MSG_DONTWAIT,
             reinterpret_cast<const sockaddr*>(&r.client), r.client_len);
  }

  void on_accept(Listener& l) {
    while (true) {
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      UniqueFd fd(::accept4(l.fd.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                            SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!fd) return;
      std::string source = address_string(peer);
      auto from_source = per_source_.find(source);
      if (conns_.size() >= config_.max_tcp_connections ||
          (from_source != per_source_.end() && from_source->second >= config_.max_tcp_per_source)) {
        stats_.tcp_rejected.fetch_add(1, std::memory_order_relaxed);
        continue;  // closed right away: the caps bound memory and fds, and one host's share
      }
      uint64_t id = next_conn_++;
      TcpConn c;
      c.fd = std::move(fd);
      c.guest = l.guest;
      c.peer = peer;
      c.source = source;
      c.opened = c.last = Clock::now();
      c.events = EPOLLIN;
      if (!watch(c.fd.get(), EPOLLIN, tag(k_tcp_conn, id))) continue;
      conns_.emplace(id, std::move(c));
      ++per_source_[source];
      stats_.tcp_accepted.fetch_add(1, std::memory_order_relaxed);
      stats_.tcp_open.store(conns_.size(), std::memory_order_relaxed);
    }
  }

  void close_conn(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    forget(it);
    stats_.tcp_open.store(conns_.size(), std::memory_order_relaxed);
  }

  // Erases the connection (closing the fd removes it from epoll) and its per-source count.
  std::unordered_map<uint64_t, TcpConn>::iterator forget(std::unordered_map<uint64_t, TcpConn>::iterator it) {
    auto src = per_source_.find(it->second.source);
    if (src != per_source_.end() && --src->second == 0) per_source_.erase(src);
    return conns_.erase(it);
  }

  // Why a connection must close now, or nullptr.
  const char* expired(const TcpConn& c, Clock::time_point now) const {
    if (now - c.opened > config_.tcp_max_life) return "life";
    if (c.message_began && now - *c.message_began > config_.tcp_message_timeout) return "message";
    if (now - c.last > config_.tcp_idle_timeout) return "idle";
    return nullptr;
  }

  void set_events(TcpConn& c, uint64_t id) {
    bool backlog = c.out.size() - c.out_off > 0;
    bool paused = c.out.size() - c.out_off > tcp_out_high_water;
    uint32_t want = (paused ? 0u : uint32_t(EPOLLIN)) | (backlog ? uint32_t(EPOLLOUT) : 0u);
    if (want == c.events) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = tag(k_tcp_conn, id);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
    c.events = want;
  }

  // Writes what it can now; the rest waits for EPOLLOUT. False when the connection died.
  bool flush(TcpConn& c) {
    while (c.out_off < c.out.size()) {
      ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_off, c.out.size() - c.out_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      c.out_off += size_t(n);
      c.last = Clock::now();
    }
    c.out.clear();
    c.out_off = 0;
    return true;
  }

  void queue_tcp(uint64_t id, TcpConn& c, std::span<const uint8_t> msg) {
    c.out.push_back(uint8_t(msg.size() >> 8));
    c.out.push_back(uint8_t(msg.size()));
    c.out.insert(c.out.end(), msg.begin(), msg.end());
    if (!flush(c)) return close_conn(id);
    set_events(c, id);
  }

  void on_conn(uint64_t id, uint32_t events) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    TcpConn& c = it->second;
    if (events & (EPOLLERR | EPOLLHUP)) return close_conn(id);
    if ((events & EPOLLOUT) && !flush(c)) return close_conn(id);
    if (events & EPOLLIN) {
      ssize_t n = ::recv(c.fd.get(), c.in.data() + c.in_len, c.in.size() - c.in_len, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return close_conn(id);
      if (n > 0) {
        c.in_len += size_t(n);
        c.last = Clock::now();
        // Pipelining: every complete length-prefixed message in the buffer, in order.
        size_t off = 0;
        while (c.in_len - off >= 2) {
          size_t len = size_t(c.in[off]) << 8 | c.in[off + 1];
          // Shorter than a header is no DNS message; nothing after it can be framed reliably.
          if (len < header_size) return close_conn(id);
          if (c.in_len - off < 2 + len) break;
          if (!handle_tcp_message(id, c, {c.in.data() + off + 2, len})) return;
          off += 2 + len;
        }
        std::memmove(c.in.data(), c.in.data() + off, c.in_len - off);
        c.in_len -= off;
        // The message deadline runs from the first byte of each message, not from the last
        // byte received: a byte every few seconds must not keep a slot forever.
        if (c.in_len == 0) {
          c.message_began.reset();
        } else if (off > 0 || !c.message_began) {
          c.message_began = c.last;
        }
      }
    }
    auto again = conns_.find(id);
    if (again != conns_.end()) set_events(again->second, id);
  }

  // False when the connection was closed on the way.
  bool handle_tcp_message(uint64_t id, TcpConn& c, std::span<const uint8_t> query) {
    stats_.tcp_queries.fetch_add(1, std::memory_order_relaxed);
    std::optional<std::string> ns;
    Caller caller = caller_for(c.guest, true, c.peer, ns);
    Outcome o = respond(zone_.snapshot(), query, caller, config_.limits, tcp_out_);
    if (o.action == Action::forward) {
      ReplyRoute route;
      route.tcp_conn = id;
      forward(query, route, Clock::now());
      return conns_.count(id) > 0;
    }
    if (o.action == Action::drop) return true;
    if (o.rcode == Rcode::formerr) stats_.formerr.fetch_add(1, std::memory_order_relaxed);
    stats_.answered.fetch_add(1, std::memory_order_relaxed);
    queue_tcp(id, c, {tcp_out_.data(), o.size});
    return conns_.count(id) > 0;
  }

  void sweep(Clock::time_point now) {
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (const char* why = expired(it->second, now)) {
        stats_.tcp_timed_out.fetch_add(1, std::memory_order_relaxed);
        log::debug("dns.tcp_closed", {{"source", it->second.source}, {"reason", why}});
        it = forget(it);
      } else {
        ++it;
      }
    }
    stats_.tcp_open.store(conns_.size(), std::memory_order_relaxed);
    if (forwarder_) {
      forwarder_->expire(now, [&](const ReplyRoute& r, std::span<const uint8_t> query) {
        stats_.upstream_failures.fetch_add(1, std::memory_order_relaxed);
        std::vector<uint8_t> buf(classic_udp_limit);
        buf.resize(error_response(query, Rcode::servfail, true, buf));
        deliver(r, buf);
      });
    }
  }

  ServerConfig config_;
  const ZoneStore& zone_;
  ServerStats& stats_;
  RateLimiter limiter_;
  UniqueFd epoll_, wake_;
  std::vector<Listener> udp_, tcp_listen_;
  std::unordered_map<uint64_t, TcpConn> conns_;
  std::unordered_map<std::string, size_t> per_source_;  // open connections per peer address
  uint64_t next_conn_ = 1;
  std::unique_ptr<Forwarder> forwarder_;
  std::array<std::vector<uint8_t>, udp_batch> udp_in_, udp_out_;
  std::vector<uint8_t> tcp_out_;
  bool stopping_ = false;
};

Result<std::unique_ptr<Server>> Server::start(ServerConfig config, const ZoneStore& zone) {
  std::unique_ptr<Server> s(new Server());
  std::vector<Listener> udp, tcp;
  auto bind_all = [&](const std::vector<std::string>& list, bool guest,
                      std::vector<Endpoint>& bound) -> Status {
    for (const auto& text : list) {
      // A busy port here is usually another DNS server (systemd-resolved, dnsmasq).
      auto dns_hint = [](Error e) {
        return std::move(e).with("hint", "is another DNS server on this address, or the address not configured?");
      };
      auto at = SEED_TRY(parse_endpoint(text));
      auto u = bind_udp(at);
      if (!u) return dns_hint(u.error());
      auto actual = SEED_TRY(local_endpoint(u->get()));  // port 0: TCP takes UDP's port
      auto t = bind_tcp(actual, 128);
      if (!t) return dns_hint(t.error());
      bound.push_back(actual);
      udp.push_back({std::move(*u), guest});
      tcp.push_back({std::move(*t), guest});
    }
    return ok();
  };
  if (config.public_listen.empty() && config.guest_listen.empty()) {
    return make_error(Errc::invalid_argument, "the DNS server has no listen address")
        .with("hint", "configure at least one public or guest listen address");
  }
  SEED_TRY(bind_all(config.public_listen, false, s->public_bound_));
  SEED_TRY(bind_all(config.guest_listen, true, s->guest_bound_));
  s->loop_ = std::make_unique<Loop>(std::move(config), zone, s->stats_);
  SEED_TRY(s->loop_->init(std::move(udp), std::move(tcp)));
  s->thread_ = std::thread([loop = s->loop_.get()] { loop->run(); });
  for (const auto& e : s->public_bound_) log::info("dns.listening", {{"address", e.to_string()}, {"side", "public"}});
  for (const auto& e : s->guest_bound_) log::info("dns.listening", {{"address", e.to_string()}, {"side", "guest"}});
  return s;
}

void Server::stop() {
  if (!thread_.joinable()) return;
  loop_->wake();
  thread_.join();
  loop_.reset();  // closes listeners, connections and upstream sockets
  log::info("dns.stopped", {{"udp_queries", stats_.udp_queries.load()},
                            {"tcp_queries", stats_.tcp_queries.load()},
                            {"rate_limited", stats_.rate_limited.load()},
                            {"forwarded", stats_.forwarded.load()}});
}

Server::~Server() { stop(); }

}  // namespace seed::net::dns
