// Per-key rate limit on commands: a token bucket per key fingerprint. A key that runs a
// command in a tight loop gets a clear "retry in N s" instead of starving everyone else.
// Thread-safe (sessions run on their own threads); memory is bounded by evicting full buckets.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

#include "common/error.hpp"

namespace seed::sshcli {

// What a key over its rate is told (Errc::unavailable: exit 5, retry later).
Error rate_limited(const std::string& fingerprint, std::chrono::milliseconds retry_after);

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `burst` commands at once, refilled at `per_second`.
  RateLimiter(double burst, double per_second) : burst_(burst), rate_(per_second) {}

  // true: allowed (a token is taken). false: `retry_after` says when one will be available.
  bool allow(const std::string& key, Clock::time_point now, std::chrono::milliseconds& retry_after);

  size_t tracked() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  static constexpr size_t kMaxTracked = 4096;

  void refill(Bucket& b, Clock::time_point now) const;

  double burst_;
  double rate_;
  mutable std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace seed::sshcli
