// The agent channel: a line protocol over the guest's virtio-console (/dev/hvc0), reached on
// the host through the VM's agent socket. A request is one line; the response is lines up to
// a line holding a single ".". Used for health and, in tests, to act inside the guest.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed::vmm {

class AgentClient {
 public:
  static Result<AgentClient> connect(const std::string& socket_path,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Sends `request`, returns the response lines (without the final ".").
  Result<std::vector<std::string>> call(const std::string& request,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  AgentClient(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
  std::string buffer_;
};

}  // namespace seed::vmm
