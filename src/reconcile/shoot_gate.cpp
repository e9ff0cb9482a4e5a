#include "reconcile/shoot_gate.hpp"

namespace seed::reconcile {

ShootTicket::~ShootTicket() {
  if (gate_ != nullptr) gate_->leave(instance_);
}

bool ShootGate::may_run(const std::string& instance) const {
  auto it = running_.find(instance);
  unsigned mine = it == running_.end() ? 0 : it->second;
  return total_ < limits_.node && mine < limits_.per_instance;
}

bool ShootGate::first_eligible(std::list<std::string>::const_iterator me) const {
  for (auto it = queue_.begin(); it != me; ++it) {
    if (may_run(*it)) return false;  // an older waiter can go first
  }
  return may_run(*me);
}

Result<ShootTicket> ShootGate::enter(const std::string& instance, const std::atomic<bool>* cancelled) {
  std::unique_lock lock(mu_);
  auto retry_after = [&] {
    // About how long the queue ahead needs, at least a second.
    return std::to_string(std::max<long>(1, static_cast<long>(limits_.max_wait.count() / 1000)));
  };
  if (queue_.empty() && may_run(instance)) {
    running_[instance]++;
    total_++;
    return ShootTicket(this, instance);
  }
  if (queue_.size() >= limits_.queue) {
    return make_error(Errc::unavailable, "too many shoots are waiting on this node (" + std::to_string(limits_.queue) + ")")
        .with("retry_after", retry_after())
        .with("hint", "retry after the Retry-After delay, or run fewer shoots at once");
  }
  auto me = queue_.insert(queue_.end(), instance);
  auto deadline = std::chrono::steady_clock::now() + limits_.max_wait;
  for (;;) {
    if (first_eligible(me)) {
      queue_.erase(me);
      running_[instance]++;
      total_++;
      changed_.notify_all();  // the next eligible waiter may go too
      return ShootTicket(this, instance);
    }
    if (cancelled != nullptr && cancelled->load()) {
      queue_.erase(me);
      changed_.notify_all();
      return make_error(Errc::unavailable, "the shoot was cancelled while it waited (its caller hung up)");
    }
    // Cancellation is polled: a waiter wakes at least every 100 ms to look at it.
    auto wake = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
    changed_.wait_until(lock, wake);
    if (std::chrono::steady_clock::now() >= deadline && !first_eligible(me)) {
      queue_.erase(me);
      changed_.notify_all();
      return make_error(Errc::unavailable, "this node's shoots are busy (" + std::to_string(limits_.per_instance) +
                                               " per instance, " + std::to_string(limits_.node) + " on the node)")
          .with("retry_after", retry_after())
          .with("hint", "retry after the Retry-After delay, or run fewer shoots at once");
    }
  }
}

void ShootGate::leave(const std::string& instance) {
  {
    std::lock_guard lock(mu_);
    if (auto it = running_.find(instance); it != running_.end()) {
      if (--it->second == 0) running_.erase(it);
    }
    total_--;
  }
  changed_.notify_all();
}

unsigned ShootGate::running(const std::string& instance) const {
  std::lock_guard lock(mu_);
  auto it = running_.find(instance);
  return it == running_.end() ? 0 : it->second;
}

unsigned ShootGate::running() const {
  std::lock_guard lock(mu_);
  return total_;
}

unsigned ShootGate::waiting() const {
  std::lock_guard lock(mu_);
  return static_cast<unsigned>(queue_.size());
}

}  // namespace seed::reconcile
