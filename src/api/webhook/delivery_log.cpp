#include "api/webhook/delivery_log.hpp"

namespace seed::api::webhook {

bool DeliveryLog::first_time(const std::string& hook, const std::string& id, Clock::time_point now) {
  if (id.empty()) return true;
  const std::string key = hook + '\n' + id;
  std::lock_guard lock(mu_);
  while (!order_.empty() && (order_.front().first + ttl_ <= now || order_.size() >= capacity_)) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
  if (!seen_.insert(key).second) return false;
  order_.emplace_back(now, key);
  return true;
}

}  // namespace seed::api::webhook
