#include "seedctl/client.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "common/unix_socket.hpp"
#include "control/control_protocol.hpp"

namespace seed::seedctl {
namespace {

using control::LineKind;

// A reply (status of a big node) can be large, but not unbounded: a broken peer must not eat
// all memory.
constexpr size_t max_response_line = 256 * 1024 * 1024;

void print_error(std::FILE* err, const Error& e) {
  std::string stage(e.get("stage").value_or("control"));
  std::fprintf(err, "seedctl: %s: %s\n", stage.c_str(), e.message.c_str());
  if (auto hint = e.get("hint"); hint && !hint->empty()) {
    std::fprintf(err, "hint: %.*s\n", static_cast<int>(hint->size()), hint->data());
  }
}

bool send_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Prints one line of the answer; returns the exit code once the answer is complete.
std::optional<int> handle_line(const control::ResponseLine& line, const CliOptions& o, std::FILE* out,
                               std::FILE* err, const std::string& raw) {
  switch (line.kind) {
    case LineKind::progress: {
      std::string stage = line.body.value("stage", "");
      std::string message = line.body.value("message", "");
      // With --json stdout holds only JSON; progress is for the human watching.
      std::fprintf(o.json ? err : out, "[%s] %s\n", stage.c_str(), message.c_str());
      std::fflush(o.json ? err : out);
      return std::nullopt;
    }
    case LineKind::data:
      if (o.json) std::fprintf(out, "%s\n", raw.c_str());
      else std::fputs(line.body.get<std::string>().c_str(), out);
      std::fflush(out);
      return std::nullopt;
    case LineKind::result:
      if (o.json) std::fprintf(out, "%s\n", line.body.dump(2).c_str());
      else std::fputs(line.text.c_str(), out);
      return exit_ok;
    case LineKind::error: print_error(err, line.error); return exit_code(line.error.code);
  }
  return exit_failed;
}

}  // namespace

int run_client(const CliOptions& o, std::FILE* out, std::FILE* err) {
  auto fd = connect_unix(o.socket);
  if (!fd) {
    std::fprintf(err, "seedctl: cannot reach seedd at %s: %s\n", o.socket.c_str(), fd.error().message.c_str());
    std::fprintf(err, "hint: seedd must be running (systemctl status seedd), and its socket is for root only; "
                      "use --socket if seedd's config names another path\n");
    return fd.error().code == Errc::permission_denied ? exit_denied : exit_retry_later;
  }
  if (!send_all(fd->get(), control::encode_request(o.request) + "\n")) {
    std::fprintf(err, "seedctl: cannot send to seedd at %s: %s\n", o.socket.c_str(), std::strerror(errno));
    return exit_retry_later;
  }
  // The write side stays open: seedd takes a hang-up as "stop following".
  std::string buffer;
  char chunk[65536];
  for (;;) {
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::string raw = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      auto line = control::decode_response(raw);
      if (!line) {
        print_error(err, line.error());
        return exit_code(line.error().code);
      }
      if (auto code = handle_line(*line, o, out, err, raw)) return *code;
    }
    if (buffer.size() > max_response_line) {
      print_error(err, make_error(Errc::protocol, "seedd sent a line longer than 256 MiB").with("stage", "control"));
      return exit_code(Errc::protocol);
    }
    ssize_t n = ::recv(fd->get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Error closed = make_error(Errc::unavailable, "seedd closed the connection before it answered")
                         .with("stage", "control")
                         .with("hint", "seedd may have stopped or crashed: journalctl -u seedd");
      print_error(err, closed);
      return exit_code(closed.code);
    }
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace seed::seedctl
