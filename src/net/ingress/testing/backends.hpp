// Real backends for the ingress tests and benchmark, all on loopback:
// - HttpBackend: a tiny keep-alive HTTP/1.1 server thread answering "backend=<name> host=<Host>".
// - TlsBackend: a real `openssl s_server -www` with a self-signed certificate for its name.
// Plus raw-socket helpers for requests curl cannot send (no Host, never finishing, split).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/process.hpp"

namespace seed::net::ingress::testing {

class HttpBackend {
 public:
  explicit HttpBackend(std::string name);
  ~HttpBackend();
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void serve(int fd);
  std::string name_;
  UniqueFd listen_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
};

// Writes a self-signed P-256 certificate for `cn` into dir/<cn>.pem and dir/<cn>.key.
Status make_cert(const std::string& dir, const std::string& cn);

class TlsBackend {
 public:
  // Starts `openssl s_server -www` for `cn` on 127.0.0.1 and waits until it accepts.
  static Result<std::unique_ptr<TlsBackend>> start(const std::string& dir, const std::string& cn);
  ~TlsBackend();
  uint16_t port() const { return port_; }

 private:
  Child child_;
  uint16_t port_ = 0;
};

// A free loopback port right now (bind 0, read, close).
uint16_t free_port();
bool wait_accepting(uint16_t port, std::chrono::milliseconds timeout);

// Raw client socket to 127.0.0.1:port, optionally bound to source address `from`.
UniqueFd connect_to(uint16_t port, const std::string& from = "127.0.0.1");
void send_all(int fd, std::string_view data);
// Reads until EOF or timeout; `eof` says which.
std::string read_all(int fd, std::chrono::milliseconds timeout, bool* eof = nullptr);

}  // namespace seed::net::ingress::testing
