// Reverter: collects undo steps while a multi-step operation creates side effects (a spawned
// process, a socket, a tap) and runs them in reverse if the operation does not reach
// success(). Undo steps are best-effort: they never throw and never replace the first error.
#pragma once

#include <functional>
#include <utility>
#include <vector>

namespace seed {

class Reverter {
 public:
  Reverter() = default;
  Reverter(const Reverter&) = delete;
  Reverter& operator=(const Reverter&) = delete;
  ~Reverter() { revert(); }

  void add(std::function<void()> undo) { steps_.push_back(std::move(undo)); }

  // The operation succeeded: keep every side effect.
  void success() { steps_.clear(); }

  // Undo now, newest first. Safe to call more than once.
  void revert() {
    while (!steps_.empty()) {
      auto step = std::move(steps_.back());
      steps_.pop_back();
      try {
        step();
      } catch (...) {  // an undo step must not mask the error that triggered it
      }
    }
  }

 private:
  std::vector<std::function<void()>> steps_;
};

}  // namespace seed
