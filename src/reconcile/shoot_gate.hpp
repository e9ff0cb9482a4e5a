// Admission for shoots: at most `per_instance` shoots of one instance and `node` shoots on the
// node run at once; requests beyond that wait in one queue, first come first served across
// instances (a waiter whose own instance is at its cap lets later waiters of other instances
// pass), and a request that finds the queue full or waits longer than `max_wait` is refused
// with a Retry-After hint (the HTTP API answers 429).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "common/error.hpp"

namespace seed::reconcile {

struct ShootGateLimits {
  unsigned per_instance = 4;
  unsigned node = 8;
  unsigned queue = 32;  // waiting requests, all instances together
  std::chrono::milliseconds max_wait{10000};
};

class ShootGate;

// A running shoot's place; leaving (destruction) lets the next waiter in.
class ShootTicket {
 public:
  ShootTicket(ShootTicket&& o) noexcept : gate_(o.gate_), instance_(std::move(o.instance_)) { o.gate_ = nullptr; }
  ShootTicket& operator=(ShootTicket&&) = delete;
  ~ShootTicket();

 private:
  friend class ShootGate;
  ShootTicket(ShootGate* gate, std::string instance) : gate_(gate), instance_(std::move(instance)) {}
  ShootGate* gate_;
  std::string instance_;
};

class ShootGate {
 public:
  explicit ShootGate(ShootGateLimits limits) : limits_(limits) {}
  // Waits for a place. Errc::unavailable (with "retry_after" in seconds) when the queue is
  // full or the wait ran out, or (no retry_after) when `cancelled` became true while waiting.
  Result<ShootTicket> enter(const std::string& instance, const std::atomic<bool>* cancelled = nullptr);
  unsigned running(const std::string& instance) const;
  unsigned running() const;
  unsigned waiting() const;

 private:
  friend class ShootTicket;
  void leave(const std::string& instance);
  bool may_run(const std::string& instance) const;  // under mu_
  bool first_eligible(std::list<std::string>::const_iterator me) const;  // under mu_

  ShootGateLimits limits_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, unsigned> running_;
  unsigned total_ = 0;
  std::list<std::string> queue_;  // waiting instances, oldest first
};

}  // namespace seed::reconcile
