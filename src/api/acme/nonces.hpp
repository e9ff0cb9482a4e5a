// ACME replay nonces (RFC 8555 §6.5): random, single-use, expiring, and bounded in number so
// a client fetching nonces in a loop cannot grow seedd's memory (the oldest are forgotten
// first; a forgotten nonce is answered with badNonce and the client retries, as RFC 8555
// asks clients to). Thread-safe: the HTTP server's threads share one store.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace seed::api::acme {

class NonceStore {
 public:
  using Clock = std::chrono::steady_clock;
  explicit NonceStore(size_t capacity = 65536, std::chrono::seconds lifetime = std::chrono::minutes(10));

  std::string issue(Clock::time_point now = Clock::now());
  // True once per issued nonce, within its lifetime.
  bool consume(const std::string& nonce, Clock::time_point now = Clock::now());
  size_t queued_for_test() {
    std::lock_guard lock(mu_);
    return order_.size();
  }

 private:
  size_t capacity_;
  std::chrono::seconds lifetime_;
  std::mutex mu_;
  std::unordered_map<std::string, Clock::time_point> live_;  // nonce → expiry
  std::deque<std::string> order_;  // issue order, for forgetting the oldest
};

}  // namespace seed::api::acme
