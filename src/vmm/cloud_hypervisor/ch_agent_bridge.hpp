// Serves the guest agent channel on a Unix socket for Cloud Hypervisor, which can only expose
// the virtio-console (/dev/hvc0 in the guest) as a pseudo-terminal (see console_config()).
//
// The bridge listens on paths.agent_socket(), accepts one client at a time, and copies bytes
// both ways between that client and the pty CH reports in vm.info. While no client is
// attached, what the guest writes is read and dropped, so the guest never blocks on a full
// pty. It stops by itself when CH closes the pty (the VMM exited). It lives in the seedd
// process: after a seedd restart, connect() starts a new one on the same pty.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed::vmm::ch {

class ChAgentBridge {
 public:
  // Opens `pty_path` and binds `socket_path` before returning, so a failure is reported here
  // and a client can connect as soon as this returns.
  static Result<std::unique_ptr<ChAgentBridge>> start(const std::string& pty_path,
                                                      const std::string& socket_path);
  ChAgentBridge(const ChAgentBridge&) = delete;
  ChAgentBridge& operator=(const ChAgentBridge&) = delete;
  // Stops the relay thread, closes the client and removes the socket.
  ~ChAgentBridge();

  const std::string& pty_path() const { return pty_path_; }
  const std::string& socket_path() const { return socket_path_; }
  // False once the pty has hung up (the VMM is gone) or the bridge hit an I/O error.
  bool active() const { return active_.load(); }

 private:
  ChAgentBridge(std::string pty_path, std::string socket_path, UniqueFd pty, UniqueFd listener,
                UniqueFd wake);
  void run();
  // Writes everything unless the bridge is told to stop or the peer goes away.
  bool write_all(int fd, const char* data, size_t size);

  std::string pty_path_;
  std::string socket_path_;
  UniqueFd pty_;
  UniqueFd listener_;
  UniqueFd wake_;  // eventfd: the destructor's stop signal
  UniqueFd client_;
  std::atomic<bool> active_{true};
  std::thread thread_;
};

}  // namespace seed::vmm::ch
