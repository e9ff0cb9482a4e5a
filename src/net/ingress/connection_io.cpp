// One connection's data path: read the head or ClientHello, pick the backend, connect, then
// move bytes both ways through the two bounded buffers (the bytes read while routing are the
// first ones forwarded). Errors before forwarding become an HTTP error page or a TLS alert.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>

#include "common/log.hpp"
#include "net/ingress/responses.hpp"
#include "net/ingress/server_loop.hpp"
#include "net/ingress/sni_parser.hpp"

namespace seed::net::ingress {

namespace {

constexpr auto kDrainTime = std::chrono::milliseconds(1000);
constexpr uint8_t kAlertUnrecognizedName = 112;
constexpr uint8_t kAlertDecodeError = 50;
constexpr uint8_t kAlertInternalError = 80;

bool transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

// A slow but moving transfer is not idle: every byte written pushes the idle deadline out.
void Server::Loop::moved(Conn& c) {
  if (c.phase == Conn::Phase::forwarding) c.deadline = now_ + config_.idle_timeout;
}

void Server::Loop::on_client(Conn& c, uint32_t events) {
  if (events & EPOLLERR) return close(c, "client socket error");
  if (events & (EPOLLIN | EPOLLHUP)) read_client(c);
  if (c.phase == Conn::Phase::closed) return;
  if (events & EPOLLOUT) flush_down(c);
  after_io(c);
}

void Server::Loop::on_backend(Conn& c, uint32_t events) {
  if (c.phase == Conn::Phase::connecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c);
    if (c.phase != Conn::Phase::closed) after_io(c);
    return;
  }
  // A reset with an answer still queued comes with EPOLLIN: the answer is read first.
  if ((events & EPOLLERR) && !(events & EPOLLIN)) return close(c, "backend socket error");
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_backend(c);
  if (c.phase == Conn::Phase::closed) return;
  if (events & EPOLLOUT) flush_up(c);
  after_io(c);
}

void Server::Loop::read_client(Conn& c) {
  // Draining what the client still sends: after our own reply, or while a backend that stopped
  // reading early still answers (closing on a sending client resets it before it reads).
  if (c.phase == Conn::Phase::replying || (c.phase == Conn::Phase::forwarding && c.up_failed)) {
    char scratch[4096];
    ssize_t n = ::recv(c.client.get(), scratch, sizeof scratch, 0);
    if (n == 0 || (n < 0 && !transient(errno))) close(c, "client gone after reply");
    return;
  }
  if (c.phase == Conn::Phase::forwarding && c.up_spliced()) {
    if (c.up_piped >= c.up_pipe_cap) return;
    const ssize_t n = ::splice(c.client.get(), nullptr, c.up_pipe[1].get(), nullptr,
                               c.up_pipe_cap - c.up_piped, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) {
      if (!transient(errno)) close(c, "client read error");
      return;
    }
    if (n == 0) c.client_eof = true;
    c.up_piped += static_cast<size_t>(n);
    c.deadline = now_ + config_.idle_timeout;
    return flush_up(c);
  }
  char* dst = c.up.space();
  const size_t room = c.up.space_size();
  if (room == 0 || c.stop_client) {
    // Nothing can be read now; a hang-up with a full buffer must not spin the loop.
    if (c.client_eof) close(c, "client closed");
    return;
  }
  const ssize_t n = ::recv(c.client.get(), dst, room, 0);
  if (n < 0) {
    if (!transient(errno)) close(c, "client read error");
    return;
  }
  if (n == 0) {
    c.client_eof = true;
    // Gone before a full head arrived: nothing to answer. While forwarding, pass the FIN on.
    if (c.phase == Conn::Phase::reading) return close(c, "client closed before routing");
    flush_up(c);
    return;
  }
  c.up.produced(static_cast<size_t>(n));
  c.up_in += static_cast<uint64_t>(n);
  if (c.http) {
    const auto st = c.http->feed(std::string_view(dst, static_cast<size_t>(n)));
    if (c.phase != Conn::Phase::reading &&
        (st == HttpStream::State::host_changed || st == HttpStream::State::failed)) {
      c.stop_client = true;  // earlier requests finish; this one is not forwarded
    }
  }
  if (c.phase == Conn::Phase::reading) route(c);
  else if (c.phase == Conn::Phase::forwarding) {
    c.deadline = now_ + config_.idle_timeout;
    flush_up(c);
  }
}

void Server::Loop::route(Conn& c) {
  const ListenerConfig& lc = config_.listeners[c.listener];
  const uint16_t port = lc.public_port;
  if (c.http) {
    switch (c.http->state()) {
      case HttpStream::State::head: return;
      case HttpStream::State::failed:
        ++stats_.bad_request;
        return http_error(c, c.http->error_status(), c.http->error_reason());
      case HttpStream::State::routed:
      case HttpStream::State::host_changed: break;
    }
    if (c.http->state() == HttpStream::State::host_changed) c.stop_client = true;
    c.host = c.http->host();
  } else {
    auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(c.up.data()),
                                          c.up.size());
    SniResult r = parse_client_hello(bytes);
    switch (r.status) {
      case SniStatus::need_more: return;
      case SniStatus::found: c.host = std::move(r.name); break;
      case SniStatus::no_sni:
        ++stats_.unknown_name;
        return reply(c, tls_alert(kAlertUnrecognizedName), "ClientHello without SNI");
      case SniStatus::not_tls:
      case SniStatus::malformed:
      case SniStatus::too_large:
        ++stats_.bad_request;
        log::debug("ingress.bad_client_hello", {{"reason", r.reason}});
        return reply(c, tls_alert(kAlertDecodeError), "malformed ClientHello");
    }
  }
  auto table = routes();
  const Backend* b = table->find(port, c.host);
  if (b == nullptr) {
    ++stats_.unknown_name;
    log::debug("ingress.unknown_name", {{"host", c.host}, {"port", port}});
    if (c.http) return reply(c, unknown_host_response(c.host, port), "unknown host");
    return reply(c, tls_alert(kAlertUnrecognizedName), "unknown SNI name");
  }
  connect_backend(c, *b);
}

// Hands the connection to an in-process receiver through a socketpair: the receiver gets the
// client's address with its end, and this loop forwards bytes to the other end exactly as to a
// TCP backend. False when no receiver by that name is registered (then ip:port is used).
bool Server::Loop::hand_to_local(Conn& c, const Backend& b) {
  std::lock_guard lock(local_mu_);
  auto it = local_backends_.find(b.local);
  if (it == local_backends_.end()) return false;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
    close(c, "local backend socketpair");
    return true;
  }
  c.backend.reset(sv[0]);
  Status handed = it->second(UniqueFd(sv[1]), reinterpret_cast<const sockaddr*>(&c.peer), c.peer_len);
  if (!handed) {
    ++stats_.backend_failed;
    log::warn("ingress.backend_failed", {{"host", c.host}, {"backend", b.text}, {"error", handed.error().message}});
    drop(c.backend);
    if (c.http) {
      http_error(c, 502, "seedd could not take the connection for '" + c.host + "'; retry later");
    } else {
      reply(c, tls_alert(kAlertInternalError), "local backend refused");
    }
    return true;
  }
  // Connected already: the EPOLLOUT that follows takes it through on_connected like TCP.
  watch_connect(c, b);
  return true;
}

// The backend socket waits for EPOLLOUT (connected, or the connect's error) within the
// connect deadline; on_connected takes it from there.
void Server::Loop::watch_connect(Conn& c, const Backend& b) {
  c.phase = Conn::Phase::connecting;
  c.deadline = now_ + config_.connect_timeout;
  epoll_event ev{};
  ev.events = c.backend_mask = EPOLLOUT;
  ev.data.ptr = &c.backend_ep;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.backend.get(), &ev);
  log::debug("ingress.routing", {{"host", c.host}, {"backend", b.text}});
}

void Server::Loop::connect_backend(Conn& c, const Backend& b) {
  if (!b.local.empty() && hand_to_local(c, b)) return;
  c.backend.reset(::socket(b.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!c.backend) return close(c, "backend socket");
  const int one = 1;
  ::setsockopt(c.backend.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  watch_connect(c, b);
  if (::connect(c.backend.get(), reinterpret_cast<const sockaddr*>(&b.addr), b.addr_len) != 0 &&
      errno != EINPROGRESS) {
    on_connected(c);  // reports the error through SO_ERROR-like handling below
  }
}

void Server::Loop::on_connected(Conn& c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(c.backend.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) {
    // A refused connect can also show up as "connected" until the first read on some kernels;
    // getpeername tells for sure.
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    if (::getpeername(c.backend.get(), reinterpret_cast<sockaddr*>(&ss), &sl) != 0) err = ENOTCONN;
  }
  if (err != 0) {
    ++stats_.backend_failed;
    log::warn("ingress.backend_failed", {{"host", c.host}, {"error", std::strerror(err)}});
    if (c.http) {
      drop(c.backend);
      return http_error(c, 502, "the instance serving '" + c.host +
                                    "' refused the connection; it may be starting or down");
    }
    drop(c.backend);
    return reply(c, tls_alert(kAlertInternalError), "backend connect failed");
  }
  ++stats_.routed;
  c.counters = &counters_for(config_.listeners[c.listener].public_port, c.host);
  if (config_.splice) open_pipes(c);
  c.phase = Conn::Phase::forwarding;
  c.deadline = now_ + config_.idle_timeout;
  flush_up(c);
}

namespace {

// A non-blocking pipe sized as configured; returns its real capacity, 0 when there is no pipe
// (out of descriptors: that direction stays on the buffers). A refused resize keeps the
// default capacity, which is then what the loop accounts with, so it never waits on a pipe
// it believes has room.
size_t make_pipe(UniqueFd (&pipe)[2], size_t want) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return 0;
  pipe[0].reset(fds[0]);
  pipe[1].reset(fds[1]);
  ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(want));
  const int cap = ::fcntl(fds[1], F_GETPIPE_SZ);
  return cap > 0 ? static_cast<size_t>(cap) : 4096;
}

}  // namespace

void Server::Loop::open_pipes(Conn& c) {
  c.down_pipe_cap = make_pipe(c.down_pipe, config_.pipe_bytes);
  if (c.down_pipe_cap == 0 || c.http) return;
  c.up_pipe_cap = make_pipe(c.up_pipe, config_.pipe_bytes);
}

void Server::Loop::backend_stopped_reading(Conn& c) {
  // Closing now would drop the answer the backend sent before it closed (still in our receive
  // queue): stop forwarding the client's bytes instead, and let the answer's end, or the
  // backend's error once the answer is read, end the connection.
  c.up_failed = true;
  c.stop_client = true;
  c.up_shut = true;
}

void Server::Loop::flush_up(Conn& c) {
  if (c.phase != Conn::Phase::forwarding || c.up_failed) return;
  const uint64_t ready = c.http ? std::min<uint64_t>(c.http->committed(), c.up_in) : c.up_in;
  while (ready > c.up_out) {
    const size_t want = static_cast<size_t>(ready - c.up_out);
    const ssize_t n = ::send(c.backend.get(), c.up.data(), want, MSG_NOSIGNAL);
    if (n < 0) {
      if (!transient(errno)) backend_stopped_reading(c);
      return;
    }
    c.up.consumed(static_cast<size_t>(n));
    c.up_out += static_cast<uint64_t>(n);
    count_up(c, static_cast<size_t>(n));
    moved(c);
  }
  while (c.up_piped > 0) {
    const ssize_t n = ::splice(c.up_pipe[0].get(), nullptr, c.backend.get(), nullptr, c.up_piped,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n <= 0) {
      if (n < 0 && !transient(errno)) backend_stopped_reading(c);
      return;
    }
    c.up_piped -= static_cast<size_t>(n);
    count_up(c, static_cast<size_t>(n));
    moved(c);
  }
  // Bytes past the commit point (a request for another Host) are dropped with the connection.
  if ((c.client_eof || c.stop_client) && !c.up_shut) {
    c.up_shut = true;
    ::shutdown(c.backend.get(), SHUT_WR);
  }
}

void Server::Loop::backend_read_failed(Conn& c) {
  // A backend that reset after answering: what it said is delivered first (after_io closes
  // once it is out); with nothing pending the connection ends here.
  if (c.down_pending() || c.up_failed) {
    c.backend_eof = true;
    return;
  }
  close(c, "backend read error");
}

void Server::Loop::read_backend(Conn& c) {
  if (c.down_pipe[1]) {
    if (c.down_piped >= c.down_pipe_cap) return;
    const ssize_t n = ::splice(c.backend.get(), nullptr, c.down_pipe[1].get(), nullptr,
                               c.down_pipe_cap - c.down_piped, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) {
      if (!transient(errno)) backend_read_failed(c);
      return;
    }
    if (n == 0) {
      c.backend_eof = true;
      return;
    }
    c.down_piped += static_cast<size_t>(n);
    c.deadline = now_ + config_.idle_timeout;
    return flush_down(c);
  }
  char* dst = c.down.space();
  const size_t room = c.down.space_size();
  if (room == 0) return;
  const ssize_t n = ::recv(c.backend.get(), dst, room, 0);
  if (n < 0) {
    if (!transient(errno)) backend_read_failed(c);
    return;
  }
  if (n == 0) {
    c.backend_eof = true;
    return;
  }
  c.down.produced(static_cast<size_t>(n));
  c.deadline = now_ + config_.idle_timeout;
  flush_down(c);
}

void Server::Loop::flush_down(Conn& c) {
  while (!c.down.empty()) {
    const ssize_t n = ::send(c.client.get(), c.down.data(), c.down.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (!transient(errno)) close(c, "client write error");
      return;
    }
    c.down.consumed(static_cast<size_t>(n));
    count_down(c, static_cast<size_t>(n));  // our own error replies have no counters
    moved(c);
  }
  while (c.down_piped > 0) {
    const ssize_t n = ::splice(c.down_pipe[0].get(), nullptr, c.client.get(), nullptr,
                               c.down_piped, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n <= 0) {
      if (n < 0 && !transient(errno)) close(c, "client write error");
      return;
    }
    c.down_piped -= static_cast<size_t>(n);
    count_down(c, static_cast<size_t>(n));
    moved(c);
  }
  if (c.phase == Conn::Phase::replying) ::shutdown(c.client.get(), SHUT_WR);
}

void Server::Loop::after_io(Conn& c) {
  if (c.phase == Conn::Phase::closed) return;
  if (c.phase == Conn::Phase::forwarding) {
    if (c.backend_eof && !c.down_pending() && c.up_failed) {
      // The early answer is out: end it as our own replies end, FIN and a bounded drain.
      c.phase = Conn::Phase::replying;
      drop(c.backend);
      c.deadline = now_ + kDrainTime;
      ::shutdown(c.client.get(), SHUT_WR);
      if (c.client_eof) return close(c, "backend answered early");
      return update_masks(c);
    }
    if (c.backend_eof && !c.down_pending()) return close(c, "backend finished");
    if (c.client_eof && c.up_shut && c.backend_eof) return close(c, "both sides finished");
  }
  update_masks(c);
}

void Server::Loop::reply(Conn& c, const std::string& bytes, const char* why) {
  log::debug("ingress.reply", {{"host", c.host}, {"reason", why}});
  c.phase = Conn::Phase::replying;
  drop(c.backend);
  c.down.assign(bytes.data(), bytes.size());
  c.deadline = now_ + kDrainTime;
  flush_down(c);
  if (c.phase != Conn::Phase::closed && c.client_eof) return close(c, why);
  update_masks(c);
}

void Server::Loop::http_error(Conn& c, int status, const std::string& detail) {
  reply(c, error_response(status, detail), "http error");
}

}  // namespace seed::net::ingress
