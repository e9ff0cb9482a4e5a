// Hands a tenant command's output from its worker thread to the session thread, which alone
// may touch the libssh session. Bounded: a writer blocks while kMaxBytes are queued (a client
// that reads slowly slows its own command, nothing else); after close() writes are dropped, so
// a command whose client left never blocks.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

#include "common/fd.hpp"
#include "sshcli/tenant_commands.hpp"

namespace seed::sshcli {

class OutputQueue : public CommandOutput {
 public:
  static constexpr size_t kMaxBytes = 1 << 20;

  OutputQueue() : wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

  // Readable whenever something was queued or the worker finished.
  int wake_fd() const { return wake_.get(); }

  void out(std::string_view data) override { push(false, data); }
  void err(std::string_view data) override { push(true, data); }

  std::deque<std::pair<bool, std::string>> take() {
    std::lock_guard l(mu_);
    std::deque<std::pair<bool, std::string>> out;
    std::swap(out, items_);
    bytes_ = 0;
    cv_.notify_all();
    return out;
  }
  void close() {
    std::lock_guard l(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
  }
  void drain_wake() {
    uint64_t v;
    [[maybe_unused]] ssize_t n = ::read(wake_.get(), &v, sizeof v);
  }

 private:
  void push(bool is_err, std::string_view data) {
    if (data.empty()) return;
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [&] { return closed_ || bytes_ < kMaxBytes; });
      if (closed_) return;
      items_.emplace_back(is_err, std::string(data));
      bytes_ += data.size();
    }
    wake();
  }

  UniqueFd wake_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<bool, std::string>> items_;
  size_t bytes_ = 0;
  bool closed_ = false;
};

}  // namespace seed::sshcli
