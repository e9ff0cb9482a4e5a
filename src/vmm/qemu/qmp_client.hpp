// QMP (QEMU Machine Protocol) client: JSON messages over QEMU's monitor socket. Performs the
// capabilities handshake, sends one command at a time and returns its "return" member;
// asynchronous events that arrive in between are skipped (and kept for callers that care).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed::vmm::qemu {

struct QemuVersion {
  int major = 0, minor = 0, micro = 0;
  std::string text() const;
};

class QmpClient {
 public:
  // Connects to `socket_path`, reads the greeting and negotiates capabilities. With
  // `vmm_pidfd`, gives up as soon as that process exits instead of waiting out the timeout.
  static Result<QmpClient> connect(const std::string& socket_path,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                   int vmm_pidfd = -1);

  // Runs one command. A QMP error becomes Errc::protocol with QEMU's class and description
  // verbatim; a closed connection becomes Errc::unavailable.
  Result<nlohmann::json> execute(const std::string& command,
                                 const nlohmann::json& arguments = nullptr,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

  const QemuVersion& version() const { return version_; }
  const std::vector<nlohmann::json>& events() const { return events_; }

 private:
  QmpClient(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Result<nlohmann::json> read_message(std::chrono::steady_clock::time_point deadline,
                                      int vmm_pidfd = -1);
  Status send(const nlohmann::json& message);

  UniqueFd fd_;
  std::string path_;
  std::string buffer_;
  QemuVersion version_;
  std::vector<nlohmann::json> events_;
};

}  // namespace seed::vmm::qemu
