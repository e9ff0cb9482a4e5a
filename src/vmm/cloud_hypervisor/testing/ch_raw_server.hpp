// A Unix-socket peer that misbehaves on purpose, for the failure paths of the HTTP client:
// the things a dying or hung VMM does that a well-formed HTTP server never would.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "common/fd.hpp"

namespace seed::vmm::ch::testing {

enum class RawBehaviour {
  close_without_answer,  // reads the request, then closes (the VMM died mid-call)
  truncated_body,        // sends headers announcing 400 bytes, 20 of them, then closes
  never_answer,          // reads the request and keeps the connection open, silent
  garbage,               // answers with something that is not HTTP
};

class RawServer {
 public:
  RawServer(const std::string& socket_path, RawBehaviour behaviour);
  ~RawServer();
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  int requests_seen() const { return requests_.load(); }

 private:
  void run();
  void serve(int fd);

  std::string socket_path_;
  RawBehaviour behaviour_;
  UniqueFd listener_;
  UniqueFd wake_;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace seed::vmm::ch::testing
