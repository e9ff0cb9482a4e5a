#include "vmm/agent_exec_frame.hpp"

namespace seed::vmm {

namespace {

void put_u32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xff));
  out.push_back(static_cast<char>((v >> 16) & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

uint32_t get_u32(std::string_view in) {
  return (uint32_t{static_cast<uint8_t>(in[0])} << 24) | (uint32_t{static_cast<uint8_t>(in[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(in[2])} << 8) | uint32_t{static_cast<uint8_t>(in[3])};
}

bool known_type(char c) {
  switch (static_cast<ExecFrameType>(c)) {
    case ExecFrameType::argv:
    case ExecFrameType::stdin_data:
    case ExecFrameType::stdin_eof:
    case ExecFrameType::kill:
    case ExecFrameType::stdout_data:
    case ExecFrameType::stderr_data:
    case ExecFrameType::exit:
    case ExecFrameType::ack:
    case ExecFrameType::done:
      return true;
  }
  return false;
}

}  // namespace

std::string encode_exec_frame(ExecFrameType type, std::string_view payload) {
  std::string out;
  out.reserve(kExecHeaderSize + payload.size());
  out.push_back(static_cast<char>(type));
  put_u32(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
  return out;
}

std::string encode_exec_data(ExecFrameType type, std::string_view data) {
  std::string out;
  for (size_t at = 0; at < data.size(); at += kExecMaxPayload)
    out += encode_exec_frame(type, data.substr(at, kExecMaxPayload));
  return out;
}

std::string encode_exec_argv(const std::vector<std::string>& argv) {
  std::string payload;
  for (const auto& arg : argv) {
    payload += arg;
    payload.push_back('\0');
  }
  return encode_exec_frame(ExecFrameType::argv, payload);
}

std::string encode_exec_exit(int code) {
  std::string payload;
  put_u32(payload, static_cast<uint32_t>(code));
  return encode_exec_frame(ExecFrameType::exit, payload);
}

std::string encode_exec_ack(uint32_t bytes) {
  std::string payload;
  put_u32(payload, bytes);
  return encode_exec_frame(ExecFrameType::ack, payload);
}

Result<std::vector<std::string>> decode_exec_argv(std::string_view payload) {
  if (payload.empty()) return make_error(Errc::protocol, "exec argv frame is empty: no command");
  if (payload.back() != '\0') return make_error(Errc::protocol, "exec argv frame does not end with a NUL byte");
  std::vector<std::string> argv;
  size_t start = 0;
  while (start < payload.size()) {
    const size_t nul = payload.find('\0', start);
    argv.emplace_back(payload.substr(start, nul - start));
    start = nul + 1;
  }
  if (argv.front().empty()) return make_error(Errc::protocol, "exec argv frame names an empty command");
  return argv;
}

Result<int> decode_exec_exit(std::string_view payload) {
  if (payload.size() != 4)
    return make_error(Errc::protocol, "exec exit frame has " + std::to_string(payload.size()) + " bytes, not 4");
  return static_cast<int>(get_u32(payload));
}

Result<uint32_t> decode_exec_ack(std::string_view payload) {
  if (payload.size() != 4)
    return make_error(Errc::protocol, "exec ack frame has " + std::to_string(payload.size()) + " bytes, not 4");
  return get_u32(payload);
}

Result<std::optional<ExecFrame>> ExecFrameDecoder::next() {
  if (buffered() < kExecHeaderSize) return std::optional<ExecFrame>{};
  std::string_view rest(buffer_);
  rest.remove_prefix(offset_);
  if (!known_type(rest[0]))
    return make_error(Errc::protocol, "exec frame of unknown type " + std::to_string(static_cast<uint8_t>(rest[0])));
  const uint32_t length = get_u32(rest.substr(1, 4));
  if (length > kExecMaxPayload)
    return make_error(Errc::protocol, "exec frame of " + std::to_string(length) + " bytes, over the " +
                                          std::to_string(kExecMaxPayload) + " limit");
  if (rest.size() < kExecHeaderSize + length) return std::optional<ExecFrame>{};
  ExecFrame frame{static_cast<ExecFrameType>(rest[0]), std::string(rest.substr(kExecHeaderSize, length))};
  offset_ += kExecHeaderSize + length;
  // Drop consumed bytes once they are most of the buffer, so a long stream stays O(n).
  if (offset_ > 4 * kExecMaxPayload && offset_ * 2 > buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return std::optional<ExecFrame>(std::move(frame));
}

}  // namespace seed::vmm
