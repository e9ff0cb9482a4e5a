// The framing on the console channel (the guest's `seed.console` virtio-serial port): the
// port is a plain byte pipe, not a terminal, so the terminal's events travel as frames and
// the guest's relay (nixos-module/guest/seed-console-relay.c, written against the same
// description in docs/guest-contract.md) turns them into a pty.
//
//   frame   = type (1 byte) | length (2 bytes, big-endian, at most 4096) | payload
//   'O' open    host→guest  u32 session | u16 rows | u16 cols | TERM (0..64 of [A-Za-z0-9._+-])
//                           a fresh login shell on a new pty (an open shell is ended first)
//   'o' opened  guest→host  u32 session: that shell runs; the host drops what came before it
//   'D' data    both        terminal bytes (keystrokes in, pty output out)
//   'W' window  host→guest  u16 rows | u16 cols: TIOCSWINSZ (the shell gets SIGWINCH)
//   'H' hangup  host→guest  (empty): end the shell (SIGHUP to its session, then SIGKILL)
//               guest→host  u8 exit status: the shell ended (128+N for signal N)
//
// Pure: no I/O, unit-tested in console_frame_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::vmm {

inline constexpr size_t kConsoleMaxPayload = 4096;
inline constexpr size_t kConsoleMaxTerm = 64;

enum class ConsoleFrameType : char { open = 'O', opened = 'o', data = 'D', window = 'W', hangup = 'H' };

struct ConsoleSize {
  uint16_t rows = 24;
  uint16_t cols = 80;
  bool operator==(const ConsoleSize&) const = default;
};

// One decoded frame; only the fields of its type are meaningful.
struct ConsoleFrame {
  ConsoleFrameType type = ConsoleFrameType::data;
  uint32_t session = 0;              // open, opened
  ConsoleSize size;                  // open, window
  std::string term;                  // open
  std::string data;                  // data
  std::optional<int> exit_status;    // hangup from the guest (absent in the host's)
};

// The bytes of each frame. encode_data splits `bytes` into frames of at most
// kConsoleMaxPayload (an empty input gives no frame). encode_open refuses a TERM that is too
// long or holds other characters (Errc::invalid_argument): it is the client's to choose.
std::string encode_data(std::string_view bytes);
Result<std::string> encode_open(uint32_t session, ConsoleSize size, std::string_view term);
std::string encode_opened(uint32_t session);
std::string encode_window(ConsoleSize size);
std::string encode_hangup(std::optional<int> exit_status = std::nullopt);

// Whether a TERM value may be sent (what encode_open accepts).
bool valid_term(std::string_view term);

// Reassembles frames from bytes as they arrive, in any split.
class ConsoleFrameDecoder {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole frame, nullopt while it is incomplete; Errc::protocol for an unknown type,
  // a length over the maximum or a payload that does not fit its type (the stream cannot be
  // trusted past it: the caller ends the session).
  Result<std::optional<ConsoleFrame>> next();

 private:
  std::string buffer_;
  size_t offset_ = 0;
};

}  // namespace seed::vmm
