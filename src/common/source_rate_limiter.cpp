#include "common/source_rate_limiter.hpp"

#include <algorithm>
#include <cstring>

namespace seed {

RateLimiter::RateLimiter(RateLimitConfig config) : config_(config) {
  if (config_.burst <= 0) config_.burst = std::max(1.0, config_.queries_per_second);
  if (enabled()) slots_.resize(std::max<size_t>(1, config_.table_size));
}

RateLimiter::Verdict RateLimiter::check(const sockaddr_storage& source, Clock::time_point now) {
  if (!enabled()) return Verdict::allow;
  uint64_t hi = 0, lo = 0;
  if (source.ss_family == AF_INET) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(source);
    lo = uint64_t(sin.sin_addr.s_addr) | (uint64_t(1) << 32);  // tag: never 0
  } else if (source.ss_family == AF_INET6) {
    const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(source);
    std::memcpy(&hi, sin6.sin6_addr.s6_addr, 8);
    hi &= __builtin_bswap64(0xffffffffffffff00ULL);  // keep the /56 (network byte order)
    lo = 2;
  } else {
    return Verdict::allow;
  }
  // splitmix-style mixing so neighbouring addresses spread over the table.
  uint64_t h = (hi ^ (lo * 0x9e3779b97f4a7c15ULL));
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 29;
  Slot& s = slots_[h % slots_.size()];
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  if (s.key_hi != hi || s.key_lo != lo) {
    // A new source takes the slot over with a full bucket.
    s = Slot{hi, lo, config_.burst, now_ns, 0};
  } else {
    double elapsed = double(now_ns - s.last_ns) / 1e9;
    s.tokens = std::min(config_.burst, s.tokens + elapsed * config_.queries_per_second);
    s.last_ns = now_ns;
  }
  if (s.tokens >= 1.0) {
    s.tokens -= 1.0;
    return Verdict::allow;
  }
  ++s.limited;
  if (config_.slip > 0 && s.limited % config_.slip == 0) return Verdict::slip;
  return Verdict::drop;
}

}  // namespace seed
