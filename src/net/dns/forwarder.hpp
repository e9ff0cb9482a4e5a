// Forwarding guests' non-zone queries to the node's upstream resolver: over UDP, or over TCP
// when the guest asked over TCP (typically because a UDP answer came back truncated, so only
// TCP can carry the whole answer). Each query in flight gets its own connected socket (a
// fresh random source port) and a
// random 16-bit id from getrandom(), so an off-path attacker has to guess both; a reply is
// accepted only from the upstream's address (connected socket), with the id and the question
// (name case-insensitively, type, class) of what we sent. Bounded: at most `max_pending`
// queries in flight, each expires after `timeout` (the caller answers SERVFAIL).
// Driven by the server's event loop; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
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

  // Sends `query` upstream (TCP when route.tcp_conn is set). Returns the socket to watch,
  // with the epoll events to watch for (its tag is the returned slot), or an error (table
  // full, socket failure) for the caller to SERVFAIL.
  struct Sent {
    int fd;
    size_t slot;
    uint32_t events;
  };
  Result<Sent> submit(std::span<const uint8_t> query, const ReplyRoute& route, Clock::time_point now);

  // The slot's socket is ready. When a matching reply is complete: rewrites the id back,
  // calls deliver(route, bytes) and frees the slot. Stray UDP packets are read and ignored.
  // A TCP upstream that fails or hangs up is expired at the next expire() (SERVFAIL).
  // Returns the events to watch from now on when they change (TCP: connected → read).
  template <class Deliver>
  std::optional<uint32_t> on_event(size_t slot, uint32_t events, Deliver deliver);

  // Frees every slot past its deadline, calling expired(route, original query).
  template <class Expired>
  void expire(Clock::time_point now, Expired expired);

  size_t in_flight() const { return in_flight_; }
  // Gives a slot up without an answer (its socket could not be watched).
  void cancel(size_t slot) {
    if (slot < slots_.size() && slots_[slot].used) release(slots_[slot]);
  }
  int fd_of(size_t slot) const { return slot < slots_.size() && slots_[slot].used ? slots_[slot].fd.get() : -1; }

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
    // TCP only: the framed query still to send, and the framed reply read so far.
    bool tcp = false;
    std::vector<uint8_t> tcp_out;
    size_t tcp_sent = 0;
    std::vector<uint8_t> tcp_in;
  };
  // Reads one datagram; true (with `bytes` set) when it is the awaited answer.
  bool read_reply(Pending& p, std::span<uint8_t>& bytes);
  // TCP progress; true (with `bytes` set) once the whole reply is in and matches.
  bool tcp_progress(Pending& p, uint32_t events, std::span<uint8_t>& bytes,
                    std::optional<uint32_t>& new_events);
  // The id and question match what we sent; rewrites the id to the client's.
  bool accept_reply(Pending& p, std::span<uint8_t> bytes);
  // Closing the socket takes it out of epoll at once (a level-triggered error would otherwise
  // spin the loop); the slot itself is answered SERVFAIL by the next expire().
  void fail_soon(Pending& p) {
    p.fd.reset();
    p.deadline = Clock::time_point::min();
  }
  void release(Pending& p);

  Endpoint upstream_;
  std::chrono::milliseconds timeout_;
  std::vector<Pending> slots_;
  std::vector<size_t> free_;
  size_t in_flight_ = 0;
  std::vector<uint8_t> buf_;
};

template <class Deliver>
std::optional<uint32_t> Forwarder::on_event(size_t slot, uint32_t events, Deliver deliver) {
  if (slot >= slots_.size() || !slots_[slot].used) return std::nullopt;
  Pending& p = slots_[slot];
  std::span<uint8_t> bytes;
  std::optional<uint32_t> new_events;
  if (!(p.tcp ? tcp_progress(p, events, bytes, new_events) : read_reply(p, bytes))) return new_events;
  ReplyRoute route = p.route;
  release(p);
  deliver(route, std::span<const uint8_t>(bytes));
  return std::nullopt;
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
