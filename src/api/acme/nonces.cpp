#include "api/acme/nonces.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include "api/acme/base64url.hpp"

namespace seed::api::acme {

NonceStore::NonceStore(size_t capacity, std::chrono::seconds lifetime) : capacity_(capacity), lifetime_(lifetime) {}

std::string NonceStore::issue(Clock::time_point now) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("OpenSSL's RAND_bytes failed");
  std::string nonce = base64url_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  std::lock_guard lock(mu_);
  while (live_.size() >= capacity_ && !order_.empty()) {
    live_.erase(order_.front());
    order_.pop_front();
  }
  live_[nonce] = now + lifetime_;
  order_.push_back(nonce);
  // Consumed nonces leave `order_` lazily; behind an old unconsumed one they pile up, so the
  // queue is compacted whenever it holds twice the capacity (amortised O(1) per nonce).
  if (order_.size() > 2 * capacity_) {
    std::deque<std::string> kept;
    for (auto& n : order_) {
      if (live_.count(n)) kept.push_back(std::move(n));
    }
    order_.swap(kept);
  }
  return nonce;
}

bool NonceStore::consume(const std::string& nonce, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = live_.find(nonce);
  if (it == live_.end()) return false;
  const bool fresh = now < it->second;
  live_.erase(it);
  return fresh;
}

}  // namespace seed::api::acme
