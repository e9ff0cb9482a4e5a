// The framed exec mode of the agent protocol (issue 14, `ssh <node> exec`). The line protocol
// cannot carry a command's output as it comes, binary-safe, with stdin: after the request line
// `exec` an agent connection switches to frames, both ways, until the exit frame:
//
//   frame   = type (1 byte) | length (4 bytes, big-endian) | payload (length bytes, <= kMaxPayload)
//   host -> guest:  'a' argv (once, first): the arguments, each followed by a NUL byte
//                   'i' stdin bytes      'E' stdin reached EOF (empty)
//                   'k' kill: payload one byte, the signal number (the client disconnected)
//   guest -> host:  'o' stdout bytes     'e' stderr bytes
//                   'x' exit (last): 4 bytes big-endian, the exit code, or 128+N for signal N
//
// Windowed, after the request `exec window=N` (a console port, which drops what its host end
// cannot take at once: the agent channel of a Cloud Hypervisor VM): the guest keeps the frame
// bytes it sent and the host has not acknowledged under N, and after its exit frame reads
// (and drops) frames up to the host's 'z', so no late frame reaches the agent's line reader.
//   host -> guest:  'A' ack: 4 bytes big-endian, how many more frame bytes the host has read
//                   'z' done (last): the host has the exit frame
//
// The codec is pure: the caller feeds what it read and writes what encode() returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace seed::vmm {

enum class ExecFrameType : char {
  argv = 'a',
  stdin_data = 'i',
  stdin_eof = 'E',
  kill = 'k',
  stdout_data = 'o',
  stderr_data = 'e',
  exit = 'x',
  ack = 'A',
  done = 'z',
};

struct ExecFrame {
  ExecFrameType type;
  std::string payload;
};

// 64 KiB: large enough to keep 10 MiB moving in few frames, small enough that one stuck frame
// never holds much memory on either side.
inline constexpr uint32_t kExecMaxPayload = 64 * 1024;
inline constexpr size_t kExecHeaderSize = 5;

// One frame as bytes. Payloads over kExecMaxPayload must be split by the caller (encode_data does).
std::string encode_exec_frame(ExecFrameType type, std::string_view payload);
// Data of any size as as many frames of `type` as it takes.
std::string encode_exec_data(ExecFrameType type, std::string_view data);
std::string encode_exec_argv(const std::vector<std::string>& argv);
std::string encode_exec_exit(int code);
std::string encode_exec_ack(uint32_t bytes);

Result<std::vector<std::string>> decode_exec_argv(std::string_view payload);
Result<int> decode_exec_exit(std::string_view payload);
Result<uint32_t> decode_exec_ack(std::string_view payload);

// Accumulates bytes read from the agent connection and yields whole frames.
class ExecFrameDecoder {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole frame, nothing if more bytes are needed, or a protocol error (an unknown type
  // or an oversized length: the peer is not speaking this protocol; the connection must close).
  Result<std::optional<ExecFrame>> next();
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  size_t offset_ = 0;
};

}  // namespace seed::vmm
