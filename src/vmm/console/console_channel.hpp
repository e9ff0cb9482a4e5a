// The host end of one interactive console: a connection to the VM's console socket (QEMU's
// socket chardev behind the guest's `seed.console` port), speaking console_frame.hpp. seedd is
// the socket's only client, and the reconcile engine lets one console per instance exist at a
// time; a second connect would queue in QEMU's backlog until the first left.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "vmm/console/console_frame.hpp"

namespace seed::vmm {

class ConsoleChannel {
 public:
  // Connects to `socket_path`, asks the guest's relay for a fresh shell of `size` and `term`
  // and waits up to `timeout` for it to answer (Errc::unavailable when nothing answers: no
  // socket, no relay in the guest, or a guest still booting).
  static Result<std::unique_ptr<ConsoleChannel>> open(const std::string& socket_path, ConsoleSize size,
                                                      std::string_view term, std::chrono::milliseconds timeout);
  // Hangs up: tells the guest to end the shell, waits a moment for it to say so, closes.
  ~ConsoleChannel();
  ConsoleChannel(const ConsoleChannel&) = delete;
  ConsoleChannel& operator=(const ConsoleChannel&) = delete;

  // Readable when output, the shell's end or the channel's loss arrived.
  int fd() const { return fd_.get(); }
  Status send_input(std::string_view bytes);
  Status resize(ConsoleSize size);

  struct Output {
    std::string data;
    bool ended = false;   // the shell exited (exit_status) or the channel was lost
    int exit_status = 0;
    bool lost = false;    // the VM or its relay went away without a word
  };
  // What has arrived, without blocking.
  Result<Output> read();

 private:
  ConsoleChannel(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Status send(const std::string& bytes);
  // Decodes what is buffered into `out` (stops at the shell's end).
  Status drain(Output& out);

  UniqueFd fd_;
  std::string path_;
  uint32_t session_ = 0;
  bool opened_ = false;
  bool ended_ = false;
  ConsoleFrameDecoder decoder_;
};

}  // namespace seed::vmm
