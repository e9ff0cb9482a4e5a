// The `.authorized_keys` text of each planted source, kept for a short time.
//
// The SSH front end asks for it on every command, for every source (who may see what), and
// for a github: or git+https: source that means a `nix flake metadata` run: 0.1 s when the
// network is fine, several seconds of retries when it is not. So a fetched text is reused for
// `fresh_for`; a deploy or trigger of the source forgets it (a push that changes the keys is
// seen at once); and when a fetch fails, the last text is still served for `stale_for` (an
// unreachable GitHub must not lock every tenant out of `status`), after which the error is.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "common/error.hpp"

namespace seed::reconcile {

class KeysCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Fetch = std::function<Result<std::string>()>;

  KeysCache(std::chrono::seconds fresh_for, std::chrono::seconds stale_for, Clock clock = std::chrono::steady_clock::now)
      : fresh_for_(fresh_for), stale_for_(stale_for), clock_(std::move(clock)) {}

  // The cached text of `source` while fresh; otherwise `fetch()` (run without the lock held, so
  // one slow source does not hold up the others), stored on success.
  Result<std::string> get(const std::string& source, const Fetch& fetch);
  void forget(const std::string& source);

 private:
  struct Entry {
    std::string text;
    std::chrono::steady_clock::time_point fetched;
  };
  std::chrono::seconds fresh_for_, stale_for_;
  Clock clock_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace seed::reconcile
