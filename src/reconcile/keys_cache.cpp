#include "reconcile/keys_cache.hpp"

#include "common/log.hpp"

namespace seed::reconcile {

Result<std::string> KeysCache::get(const std::string& source, const Fetch& fetch) {
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(source); it != entries_.end() && clock_() - it->second.fetched < fresh_for_) {
      return it->second.text;
    }
  }
  auto fetched = fetch();
  std::lock_guard lock(mu_);
  if (fetched) {
    entries_[source] = Entry{*fetched, clock_()};
    return fetched;
  }
  if (auto it = entries_.find(source); it != entries_.end() && clock_() - it->second.fetched < stale_for_) {
    log::warn("reconcile.authorized_keys_stale", {{"source", source}, {"error", fetched.error().describe()}});
    return it->second.text;
  }
  return fetched;
}

void KeysCache::forget(const std::string& source) {
  std::lock_guard lock(mu_);
  entries_.erase(source);
}

}  // namespace seed::reconcile
