#include "net/dns/forwarder.hpp"

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

  UniqueFd fd(::socket(upstream_.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket for upstream DNS", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&upstream_.addr), upstream_.len) != 0) {
    return errno_error("connect to upstream DNS", errno).with("upstream", upstream_.to_string());
  }
  std::vector<uint8_t> wire(query.begin(), query.end());
  wire[0] = uint8_t(id >> 8);
  wire[1] = uint8_t(id);
  if (::send(fd.get(), wire.data(), wire.size(), 0) < 0) {
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
  ++in_flight_;
  return Sent{p.fd.get(), slot};
}

bool Forwarder::read_reply(Pending& p, std::span<uint8_t>& bytes) {
  ssize_t n = ::recv(p.fd.get(), buf_.data(), buf_.size(), 0);
  if (n < ssize_t(header_size)) return false;  // error (e.g. ICMP refused) or runt: keep waiting
  Query r;
  auto span = std::span<uint8_t>(buf_.data(), size_t(n));
  if (parse_query(span, r) && r.header.qdcount == 0) return false;
  if (!r.header.qr || r.header.id != p.id || r.header.qdcount != 1) return false;
  if (!(r.question.name == p.question.name) || r.question.type != p.question.type ||
      r.question.klass != p.question.klass) {
    return false;
  }
  span[0] = uint8_t(p.client_id >> 8);
  span[1] = uint8_t(p.client_id);
  bytes = span;
  return true;
}

void Forwarder::release(Pending& p) {
  size_t slot = size_t(&p - slots_.data());
  p.used = false;
  p.fd.reset();  // closing also removes it from epoll
  p.query.clear();
  free_.push_back(slot);
  --in_flight_;
}

}  // namespace seed::net::dns
