#include "net/dns/forwarder.hpp"

#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <cerrno>

namespace seed::net::dns {

Forwarder::Forwarder(Endpoint upstream, std::chrono::milliseconds timeout, size_t max_pending)
    : upstream_(upstream), timeout_(timeout), slots_(max_pending), buf_(max_message) {
  for (size_t i = max_pending; i > 0; --i) free_.push_back(i - 1);
}

Result<Forwarder::Sent> Forwarder::submit(std::span<const uint8_t> query, const ReplyRoute& route,
                                          Clock::time_point now) {
  Query q;
  if (parse_query(query, q) || q.header.qdcount != 1) {
    return make_error(Errc::invalid_argument, "only well-formed single-question queries are forwarded");
  }
  if (free_.empty()) {
    return make_error(Errc::unavailable, "too many queries waiting for the upstream resolver")
        .with("in_flight", std::to_string(in_flight_));
  }
  uint16_t id = 0;
  if (::getrandom(&id, sizeof id, 0) != sizeof id) return errno_error("getrandom", errno);

  const bool tcp = route.tcp_conn != 0;
  UniqueFd fd(::socket(upstream_.addr.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket for upstream DNS", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&upstream_.addr), upstream_.len) != 0 &&
      !(tcp && errno == EINPROGRESS)) {
    return errno_error("connect to upstream DNS", errno).with("upstream", upstream_.to_string());
  }
  std::vector<uint8_t> wire(query.begin(), query.end());
  wire[0] = uint8_t(id >> 8);
  wire[1] = uint8_t(id);
  std::vector<uint8_t> framed;
  if (tcp) {
    // Sent once the connection is up (EPOLLOUT).
    framed = {uint8_t(wire.size() >> 8), uint8_t(wire.size())};
    framed.insert(framed.end(), wire.begin(), wire.end());
  } else if (::send(fd.get(), wire.data(), wire.size(), 0) < 0) {
    return errno_error("send to upstream DNS", errno).with("upstream", upstream_.to_string());
  }
  size_t slot = free_.back();
  free_.pop_back();
  Pending& p = slots_[slot];
  p.used = true;
  p.fd = std::move(fd);
  p.id = id;
  p.client_id = q.header.id;
  p.question = q.question;
  p.route = route;
  p.deadline = now + timeout_;
  std::copy(query.begin(), query.end(), wire.begin());  // keep the client's own bytes
  p.query = std::move(wire);
  p.tcp = tcp;
  p.tcp_out = std::move(framed);
  p.tcp_sent = 0;
  p.tcp_in.clear();
  ++in_flight_;
  return Sent{p.fd.get(), slot, tcp ? uint32_t(EPOLLOUT) : uint32_t(EPOLLIN)};
}

bool Forwarder::tcp_progress(Pending& p, uint32_t events, std::span<uint8_t>& bytes,
                             std::optional<uint32_t>& new_events) {
  if (events & EPOLLERR) {
    fail_soon(p);
    return false;
  }
  if ((events & EPOLLOUT) && p.tcp_sent < p.tcp_out.size()) {
    ssize_t n = ::send(p.fd.get(), p.tcp_out.data() + p.tcp_sent, p.tcp_out.size() - p.tcp_sent,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) {
      fail_soon(p);  // connect failed (refused, unreachable)
      return false;
    }
    if (n > 0) p.tcp_sent += size_t(n);
    if (p.tcp_sent == p.tcp_out.size()) new_events = uint32_t(EPOLLIN);
  }
  if (!(events & (EPOLLIN | EPOLLHUP))) return false;
  if (p.tcp_in.empty()) p.tcp_in.reserve(512);
  uint8_t chunk[4096];
  ssize_t n = ::recv(p.fd.get(), chunk, sizeof chunk, MSG_DONTWAIT);
  if (n <= 0) {
    if (n == 0 || errno != EAGAIN) fail_soon(p);
    return false;
  }
  p.tcp_in.insert(p.tcp_in.end(), chunk, chunk + n);
  if (p.tcp_in.size() < 2) return false;
  size_t len = size_t(p.tcp_in[0]) << 8 | p.tcp_in[1];
  if (p.tcp_in.size() < 2 + len) return false;
  std::span<uint8_t> reply(p.tcp_in.data() + 2, len);
  if (!accept_reply(p, reply)) {
    fail_soon(p);  // a stream carries one answer for us; anything else is a broken upstream
    return false;
  }
  bytes = reply;
  return true;
}

bool Forwarder::read_reply(Pending& p, std::span<uint8_t>& bytes) {
  ssize_t n = ::recv(p.fd.get(), buf_.data(), buf_.size(), 0);
  if (n < ssize_t(header_size)) return false;  // error (e.g. ICMP refused) or runt: keep waiting
  auto span = std::span<uint8_t>(buf_.data(), size_t(n));
  if (!accept_reply(p, span)) return false;
  bytes = span;
  return true;
}

bool Forwarder::accept_reply(Pending& p, std::span<uint8_t> span) {
  if (span.size() < header_size) return false;
  Query r;
  if (parse_query(span, r) && r.header.qdcount == 0) return false;
  if (!r.header.qr || r.header.id != p.id || r.header.qdcount != 1) return false;
  if (!(r.question.name == p.question.name) || r.question.type != p.question.type ||
      r.question.klass != p.question.klass) {
    return false;
  }
  span[0] = uint8_t(p.client_id >> 8);
  span[1] = uint8_t(p.client_id);
  return true;
}

void Forwarder::release(Pending& p) {
  size_t slot = size_t(&p - slots_.data());
  p.used = false;
  p.fd.reset();  // closing also removes it from epoll
  p.query.clear();
  p.tcp_out.clear();
  p.tcp_in = {};
  free_.push_back(slot);
  --in_flight_;
}

}  // namespace seed::net::dns
