// Forwarding guests' non-zone queries to the node's upstream resolver over UDP.
// Each query in flight gets its own connected socket (a fresh random source port) and a
// random 16-bit id from getrandom(), so an off-path attacker has to guess both; a reply is
// accepted only from the upstream's address (connected socket), with the id and the question
// (name case-insensitively, type, class) of what we sent. Bounded: at most `max_pending`
// queries in flight, each expires after `timeout` (the caller answers SERVFAIL).
// Driven by the server's event loop; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "net/dns/endpoint.hpp"
#include "net/dns/message.hpp"

namespace seed::net::dns {

// Where an answer goes back to: a UDP client (socket + address) or a TCP connection by id.
struct ReplyRoute {
  int udp_fd = -1;
  sockaddr_storage client{};
  socklen_t client_len = 0;
  uint64_t tcp_conn = 0;  // non-zero for TCP
};

class Forwarder {
 public:
  using Clock = std::chrono::steady_clock;

  Forwarder(Endpoint upstream, std::chrono::milliseconds timeout, size_t max_pending);

  // Sends `query` upstream. Returns the socket to watch for readability (its epoll tag is
  // the returned slot), or an error (table full, socket failure) for the caller to SERVFAIL.
  struct Sent {
    int fd;
    size_t slot;
  };
  Result<Sent> submit(std::span<const uint8_t> query, const ReplyRoute& route, Clock::time_point now);

  // The slot's socket is readable: reads one reply; when it matches, rewrites the id back and
  // calls deliver(route, bytes) and frees the slot. Stray packets are read and ignored.
  template <class Deliver>
  void on_readable(size_t slot, Deliver deliver);

  // Frees every slot past its deadline, calling expired(route, original query).
  template <class Expired>
  void expire(Clock::time_point now, Expired expired);

  size_t in_flight() const { return in_flight_; }

 private:
  struct Pending {
    bool used = false;
    UniqueFd fd;
    uint16_t id = 0;
    uint16_t client_id = 0;
    Question question;
    ReplyRoute route;
    Clock::time_point deadline;
    std::vector<uint8_t> query;
  };
  // Reads one datagram; true (with `bytes` set) when it is the awaited answer.
  bool read_reply(Pending& p, std::span<uint8_t>& bytes);
  void release(Pending& p);

  Endpoint upstream_;
  std::chrono::milliseconds timeout_;
  std::vector<Pending> slots_;
  std::vector<size_t> free_;
  size_t in_flight_ = 0;
  std::vector<uint8_t> buf_;
};

template <class Deliver>
void Forwarder::on_readable(size_t slot, Deliver deliver) {
  if (slot >= slots_.size() || !slots_[slot].used) return;
  Pending& p = slots_[slot];
  std::span<uint8_t> bytes;
  if (!read_reply(p, bytes)) return;
  ReplyRoute route = p.route;
  release(p);
  deliver(route, std::span<const uint8_t>(bytes));
}

template <class Expired>
void Forwarder::expire(Clock::time_point now, Expired expired) {
  for (auto& p : slots_) {
    if (!p.used || p.deadline > now) continue;
    std::vector<uint8_t> query = std::move(p.query);
    ReplyRoute route = p.route;
    release(p);
    expired(route, std::span<const uint8_t>(query));
  }
}

}  // namespace seed::net::dns
