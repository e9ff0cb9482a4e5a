#include "vmm/console/console_frame.hpp"

namespace seed::vmm {
namespace {

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

uint16_t get16(std::string_view p, size_t at) {
  return static_cast<uint16_t>((static_cast<unsigned char>(p[at]) << 8) | static_cast<unsigned char>(p[at + 1]));
}

uint32_t get32(std::string_view p, size_t at) { return (uint32_t{get16(p, at)} << 16) | get16(p, at + 2); }

std::string frame(ConsoleFrameType type, std::string_view payload) {
  std::string out;
  out.reserve(3 + payload.size());
  out.push_back(static_cast<char>(type));
  put16(out, static_cast<uint16_t>(payload.size()));
  out.append(payload);
  return out;
}

Error bad_frame(std::string what) {
  return make_error(Errc::protocol, "console channel: " + std::move(what))
      .with("hint", "the guest's console relay speaks another framing; see docs/guest-contract.md");
}

}  // namespace

bool valid_term(std::string_view term) {
  if (term.size() > kConsoleMaxTerm) return false;
  for (char c : term) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string encode_data(std::string_view bytes) {
  std::string out;
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kConsoleMaxPayload);
    out += frame(ConsoleFrameType::data, bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  return out;
}

Result<std::string> encode_open(uint32_t session, ConsoleSize size, std::string_view term) {
  if (!valid_term(term)) {
    return make_error(Errc::invalid_argument, "the terminal type '" + std::string(term.substr(0, 80)) +
                                                  "' is not one the console accepts")
        .with("hint", "set TERM to a plain name such as xterm-256color (at most 64 of A-Z a-z 0-9 . _ + -)");
  }
  std::string payload;
  put32(payload, session);
  put16(payload, size.rows);
  put16(payload, size.cols);
  payload.append(term);
  return frame(ConsoleFrameType::open, payload);
}

std::string encode_opened(uint32_t session) {
  std::string payload;
  put32(payload, session);
  return frame(ConsoleFrameType::opened, payload);
}

std::string encode_window(ConsoleSize size) {
  std::string payload;
  put16(payload, size.rows);
  put16(payload, size.cols);
  return frame(ConsoleFrameType::window, payload);
}

std::string encode_hangup(std::optional<int> exit_status) {
  std::string payload;
  if (exit_status) payload.push_back(static_cast<char>(*exit_status & 0xff));
  return frame(ConsoleFrameType::hangup, payload);
}

Result<std::optional<ConsoleFrame>> ConsoleFrameDecoder::next() {
  std::string_view rest = std::string_view(buffer_).substr(offset_);
  if (rest.size() < 3) {
    // Keep the buffer small: drop what was consumed once nothing whole is left.
    buffer_.erase(0, offset_);
    offset_ = 0;
    return std::optional<ConsoleFrame>();
  }
  const char type = rest[0];
  const size_t length = get16(rest, 1);
  if (length > kConsoleMaxPayload) {
    return bad_frame("a frame of " + std::to_string(length) + " bytes (at most " +
                     std::to_string(kConsoleMaxPayload) + ")");
  }
  if (rest.size() < 3 + length) return std::optional<ConsoleFrame>();
  std::string_view p = rest.substr(3, length);
  offset_ += 3 + length;

  ConsoleFrame f;
  switch (type) {
    case 'D':
      f.type = ConsoleFrameType::data;
      f.data = std::string(p);
      break;
    case 'O':
      f.type = ConsoleFrameType::open;
      if (p.size() < 8 || !valid_term(p.substr(8))) return bad_frame("a malformed open frame");
      f.session = get32(p, 0);
      f.size = {get16(p, 4), get16(p, 6)};
      f.term = std::string(p.substr(8));
      break;
    case 'o':
      f.type = ConsoleFrameType::opened;
      if (p.size() != 4) return bad_frame("a malformed opened frame");
      f.session = get32(p, 0);
      break;
    case 'W':
      f.type = ConsoleFrameType::window;
      if (p.size() != 4) return bad_frame("a malformed window frame");
      f.size = {get16(p, 0), get16(p, 2)};
      break;
    case 'H':
      f.type = ConsoleFrameType::hangup;
      if (p.size() > 1) return bad_frame("a malformed hangup frame");
      if (p.size() == 1) f.exit_status = static_cast<unsigned char>(p[0]);
      break;
    default: {
      static const char* hex = "0123456789abcdef";
      const auto b = static_cast<unsigned char>(type);
      return bad_frame(std::string("an unknown frame type 0x") + hex[b >> 4] + hex[b & 15]);
    }
  }
  return std::optional<ConsoleFrame>(std::move(f));
}

}  // namespace seed::vmm
