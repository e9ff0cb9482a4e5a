// The acceptor's handle on one session thread: the socket (to shut it down when a deadline
// passes or the server stops) and the deadline itself. The fd is forgotten under the mutex
// before libssh closes it, so a shutdown never hits a reused descriptor number.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

namespace seed::sshcli {

struct SessionSlot {
  using Clock = std::chrono::steady_clock;

  std::mutex mu;
  int fd = -1;
  std::string source;  // the client's address as the per-source cap counts it (refusal.hpp)
  std::atomic<int64_t> deadline{0};  // Clock ticks; 0 = none
  std::atomic<bool> stopping{false};
  std::atomic<bool> done{false};
  std::thread thread;

  void arm(std::chrono::milliseconds from_now) { deadline = (Clock::now() + from_now).time_since_epoch().count(); }
  void disarm() { deadline = 0; }
  bool expired(Clock::time_point now) const {
    int64_t d = deadline;
    return d != 0 && now.time_since_epoch().count() > d;
  }
  void kick() {
    std::lock_guard l(mu);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
  void forget_fd() {
    std::lock_guard l(mu);
    fd = -1;
  }
};

}  // namespace seed::sshcli
