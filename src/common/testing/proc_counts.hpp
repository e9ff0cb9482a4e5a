// What a leak test counts and how it waits: this process's open fds and threads (from /proc),
// and a poll for effects that land a moment after the call that causes them (a joined
// thread's /proc entry outlives pthread_join briefly; a peer closes its end after ours).
// The one copy every test uses.
#pragma once

#include <dirent.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <thread>

namespace seed::testing {

// Entries of a /proc directory, without "." and "..".
inline size_t count_entries(const char* dir) {
  size_t n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}
inline size_t open_fds() { return count_entries("/proc/self/fd"); }
inline size_t threads() { return count_entries("/proc/self/task"); }

// Polls `done` until it holds or `timeout` passes; whether it held.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace seed::testing
