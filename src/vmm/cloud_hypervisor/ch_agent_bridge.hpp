// Serves the guest agent channel on a Unix socket for Cloud Hypervisor, which can only expose
// the virtio-console (/dev/hvc0 in the guest) as a pseudo-terminal (see console_config()).
//
// The bridge listens on paths.agent_socket(), accepts one client at a time, and copies bytes
// both ways between that client and the pty CH reports in vm.info. Nothing in it blocks:
//   - the pty is read whenever it has bytes, whatever the client does: CH's console keeps
//     only a bounded buffer for a pty that takes nothing, and drops beyond it. Bytes the
//     client has not taken yet wait here, up to kClientBacklog; a client further behind is
//     disconnected (its stream would have a hole). While no client is attached, what the
//     guest writes is dropped, so the guest never blocks.
//   - the client is read only while what it sent fits in kGuestBacklog, so a guest that is
//     slow to read its console pushes back on the client (the socket fills) and loses nothing.
// A console loses bytes under any relay once its buffers are full; the exec frames over this
// channel keep what is in flight under a window (agent_exec_frame.hpp) so that never happens.
// It stops by itself when CH closes the pty (the VMM exited). It lives in the seedd process:
// after a seedd restart, connect() starts a new one on the same pty.
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
  // Bytes from the guest kept for a client that has not taken them; past this it is cut off.
  static constexpr size_t kClientBacklog = 4u << 20;
  // Bytes from the client kept for a guest that has not read them; past this the client waits.
  static constexpr size_t kGuestBacklog = 64u << 10;

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
  void drop_client();

  std::string pty_path_;
  std::string socket_path_;
  UniqueFd pty_;
  UniqueFd listener_;
  UniqueFd wake_;  // eventfd: the destructor's stop signal
  UniqueFd client_;
  std::string to_client_;  // read from the pty, not yet sent to the client
  std::string to_guest_;   // read from the client, not yet written to the pty
  std::atomic<bool> active_{true};
  std::thread thread_;
};

}  // namespace seed::vmm::ch
