// A per-source token bucket in a fixed-size table: memory is bounded no matter how many
// (possibly spoofed) sources send, at the price that two sources hashing to one slot share a
// bucket for a while. IPv6 sources are grouped by /56, since one host usually owns a whole
// prefix. Not thread-safe: each event loop owns its limiter (or guards it). Used by the DNS
// server (queries, with RRL-style slip) and the HTTP API (requests).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace seed {

struct RateLimitConfig {
  double queries_per_second = 0;  // per source; 0 turns limiting off
  double burst = 0;               // bucket size; 0 means one second's worth
  size_t table_size = 16384;      // slots (bounded memory: 32 bytes each)
  // DNS: every Nth refused query still gets an empty TC=1 answer, so a real client whose
  // address is being spoofed can retry over TCP (which needs a handshake). 0: never.
  unsigned slip = 2;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { allow, drop, slip };

  explicit RateLimiter(RateLimitConfig config);
  bool enabled() const { return config_.queries_per_second > 0; }
  Verdict check(const sockaddr_storage& source, Clock::time_point now);

 private:
  struct Slot {
    uint64_t key_hi = 0, key_lo = 0;  // the source (IPv4 or IPv6 /56), 0/0 = empty slot
    double tokens = 0;
    int64_t last_ns = 0;
    uint32_t limited = 0;
  };
  RateLimitConfig config_;
  std::vector<Slot> slots_;
};

}  // namespace seed
