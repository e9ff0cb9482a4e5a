// Test helpers for the control server: a raw client that speaks the line protocol by hand (so
// tests can send what seedctl never would), and small waiting/counting tools.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "common/testing/proc_counts.hpp"
#include "common/unix_socket.hpp"

namespace seed::control::testing {

using seed::testing::count_entries;
using seed::testing::eventually;

class SocketClient {
 public:
  explicit SocketClient(const std::string& path) {
    auto fd = connect_unix(path);
    if (fd.ok()) fd_ = std::move(*fd);
  }
  bool connected() const { return fd_.valid(); }
  bool send(const std::string& data) {
    return ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // The next line (without newline), or nullopt on EOF / timeout.
  std::optional<std::string> line(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string out = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return out;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_.get(), POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buf[4096];
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }
  // True once the server closed its side (EOF), within `timeout`.
  bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char c;
    return ::recv(fd_.get(), &c, 1, 0) == 0;
  }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
  std::string buffer_;
};

}  // namespace seed::control::testing
