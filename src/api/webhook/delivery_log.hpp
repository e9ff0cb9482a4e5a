// The deliveries already acted on, so a forge's redelivery (or a replayed request) triggers
// nothing twice. Bounded: at most `capacity` ids, each remembered for `ttl`; the oldest go first.
// Only authenticated deliveries are recorded, so nobody without the secret can fill it.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace seed::api::webhook {

class DeliveryLog {
 public:
  using Clock = std::chrono::steady_clock;
  explicit DeliveryLog(size_t capacity = 4096, std::chrono::seconds ttl = std::chrono::hours(24))
      : capacity_(capacity), ttl_(ttl) {}
  // True the first time (hook, id) is seen within the ttl; an empty id is always "first".
  bool first_time(const std::string& hook, const std::string& id, Clock::time_point now = Clock::now());

 private:
  size_t capacity_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::deque<std::pair<Clock::time_point, std::string>> order_;
  std::set<std::string> seen_;
};

}  // namespace seed::api::webhook
