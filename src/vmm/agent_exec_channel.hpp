// The host end of one `ssh <node> exec`: a connection to one of the VM's exec sockets (QEMU's
// socket chardev behind the guest's `org.seed.exec.<i>` port, served by an agent of its own),
// speaking the agent's line protocol to check the guest answers, then the exec frames of
// agent_exec_frame.hpp. seedd is each socket's only client: the reconcile engine hands out one
// port per session.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "vmm/agent_exec_frame.hpp"

namespace seed::vmm {

class ExecChannel {
 public:
  // Connects to `socket_path`, waits up to `timeout` for the guest's agent to answer a ping
  // (Errc::unavailable when nothing answers: no socket, no agent, a guest still booting), then
  // starts `argv` (no shell). Only after the ping is the command sent, so a guest that answers
  // late never runs a command nobody waits for.
  //
  // `window` > 0 asks for the windowed mode (agent_exec_frame.hpp): for a console port, which
  // drops what the host end cannot take at once (the agent channel of a Cloud Hypervisor VM,
  // exec_transport.hpp). The channel then acknowledges what read() consumed and sends the
  // final 'z' once the exit frame is in.
  static Result<std::unique_ptr<ExecChannel>> open(const std::string& socket_path, const std::vector<std::string>& argv,
                                                   std::chrono::milliseconds timeout, uint32_t window = 0);
  // A command still running is killed (SIGKILL to its process group); closing the port kills
  // it too, should the kill frame not get through.
  ~ExecChannel();
  ExecChannel(const ExecChannel&) = delete;
  ExecChannel& operator=(const ExecChannel&) = delete;

  // Readable when output, the exit or the channel's loss arrived.
  int fd() const { return fd_.get(); }
  Status send_stdin(std::string_view bytes);
  Status close_stdin();
  Status kill(int signal);

  struct Output {
    std::string out;       // the command's stdout, as it came
    std::string err;       // its stderr
    bool ended = false;    // the command exited (exit_code) or the channel was lost
    int exit_code = 0;     // 128+N for signal N
    bool lost = false;     // the VM or its agent went away without an exit frame
  };
  // What has arrived, without blocking.
  Result<Output> read();

 private:
  ExecChannel(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Status send(const std::string& bytes);
  Status drain(Output& out);

  // Windowed mode: frame bytes read and not yet acknowledged.
  Status acknowledge(size_t bytes);

  UniqueFd fd_;
  std::string path_;
  bool ended_ = false;
  uint32_t window_ = 0;
  size_t unacked_ = 0;
  ExecFrameDecoder decoder_;
};

}  // namespace seed::vmm
