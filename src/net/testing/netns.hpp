// TestNetns: a network namespace a test creates (`ip netns add`, unique per process) and
// always removes, with everything in it, when the object goes away. run() executes code in a
// thread that has entered it, so the test process itself never leaves the host's namespace
// and never touches the host's links, routes or firewall.
#pragma once

#include <sched.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed::net::testing {

class TestNetns {
 public:
  explicit TestNetns(const std::string& tag);  // throws when the namespace cannot be made
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }

  // Runs `fn` inside the namespace and returns its result. Throws (without running `fn`)
  // when the thread cannot enter it: code meant for a test namespace never runs on the host.
  template <class F>
  auto run(F&& fn) const -> std::invoke_result_t<F> {
    using R = std::invoke_result_t<F>;
    std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> out;
    int err = 0;
    std::thread t([&] {
      if (::setns(fd_.get(), CLONE_NEWNET) != 0) {
        err = errno;
        return;
      }
      if constexpr (std::is_void_v<R>) {
        fn();
        out.emplace(true);
      } else {
        out.emplace(fn());
      }
    });
    t.join();
    if (!out) throw std::runtime_error("cannot enter netns " + name_ + ": errno " + std::to_string(err));
    if constexpr (!std::is_void_v<R>) return std::move(*out);
  }

  // `ip -n <ns> <args...>`; throws with ip's stderr on failure (test setup only).
  std::string ip(std::vector<std::string> args) const;
  // Any program inside the namespace (`ip netns exec`); throws on failure.
  std::string exec(std::vector<std::string> argv) const;

  // Removes namespaces left behind by earlier test processes that died (their pid is gone).
  static void sweep_stale();

 private:
  std::string name_;
  UniqueFd fd_;
};

}  // namespace seed::net::testing
