#include "sshcli/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace seed::sshcli {

Error rate_limited(const std::string& fingerprint, std::chrono::milliseconds retry_after) {
  auto seconds = std::to_string((retry_after.count() + 999) / 1000);
  return make_error(Errc::unavailable, "too many commands from key " + fingerprint + "; retry in " + seconds + " s")
      .with("key", fingerprint)
      .with("retry_after_s", seconds)
      .with("hint", "wait " + seconds + " s, then run it again");
}

void RateLimiter::refill(Bucket& b, Clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
}

bool RateLimiter::allow(const std::string& key, Clock::time_point now, std::chrono::milliseconds& retry_after) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxTracked) {
      // Keys whose bucket has refilled carry no information: forgetting them changes nothing.
      for (auto j = buckets_.begin(); j != buckets_.end();) {
        refill(j->second, now);
        j = j->second.tokens >= burst_ ? buckets_.erase(j) : std::next(j);
      }
      if (buckets_.size() >= kMaxTracked) buckets_.erase(buckets_.begin());
    }
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  refill(b, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  double wait = rate_ > 0 ? (1.0 - b.tokens) / rate_ : 3600.0;
  retry_after = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(wait * 1000)));
  return false;
}

size_t RateLimiter::tracked() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace seed::sshcli
