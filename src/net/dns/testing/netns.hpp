// NetnsScope: a fresh, uniquely named network namespace (`ip netns add`) that the calling
// thread enters for the scope's lifetime, with loopback up. Threads started and programs
// spawned from that thread afterwards live in it too, so tests bind 127.0.0.x freely without
// touching the host's namespace. The destructor returns to the original namespace and
// deletes the new one, also when a test failed.
#pragma once

#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed::net::dns::testing {

class NetnsScope {
 public:
  static Result<std::unique_ptr<NetnsScope>> enter(const std::string& prefix);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;
  const std::string& name() const { return name_; }

 private:
  NetnsScope() = default;
  std::string name_;
  UniqueFd original_;
};

}  // namespace seed::net::dns::testing
