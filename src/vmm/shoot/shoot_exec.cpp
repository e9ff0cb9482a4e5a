#include "vmm/shoot/shoot_exec.hpp"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <cctype>

#include "vmm/agent_exec_channel.hpp"
#include "vmm/agent_exec_frame.hpp"

namespace seed::vmm::shoot {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How long a fresh clone's exec port may take to answer its ping (under TCG a restored clone
// faults its memory in as it runs); not part of the command's timeout.
constexpr auto kOpenTimeout = 30s;

// $1 = cwd, $2 = how many env entries follow, then the entries, then the command's argv.
constexpr const char* kWrapper =
    "cd \"$1\" || exit 126; n=$2; shift 2; "
    "while [ \"$n\" -gt 0 ]; do export \"$1\"; shift; n=$((n - 1)); done; exec \"$@\"";

// Keeps at most `cap` bytes of a stream; what is kept also goes to the caller's sink.
void keep(ShootResult& r, const ShootCommand& c, ShootOutput which, std::string_view bytes) {
  std::string& kept = which == ShootOutput::out ? r.out : r.err;
  const size_t room = c.output_cap - std::min(c.output_cap, kept.size());
  if (bytes.size() > room) r.truncated = true;
  bytes = bytes.substr(0, room);
  if (bytes.empty()) return;
  kept.append(bytes);
  if (c.on_output) c.on_output(which, bytes);
}

}  // namespace

Status validate(const ShootCommand& c) {
  if (c.argv.empty() || c.argv[0].empty()) {
    return make_error(Errc::invalid_argument, "command must be a non-empty list of arguments, the first naming the program");
  }
  size_t total = c.cwd.size();
  auto no_nul = [](const std::string& s) { return s.find('\0') == std::string::npos; };
  for (const auto& a : c.argv) {
    if (!no_nul(a)) return make_error(Errc::invalid_argument, "command arguments cannot contain NUL bytes");
    total += a.size() + 1;
  }
  for (const auto& [k, v] : c.env) {
    bool name_ok = !k.empty() && !std::isdigit(static_cast<unsigned char>(k[0]));
    for (char ch : k) name_ok = name_ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    if (!name_ok) return make_error(Errc::invalid_argument, "env: '" + k + "' is not a variable name (letters, digits, _)");
    if (!no_nul(v)) return make_error(Errc::invalid_argument, "env: the value of " + k + " contains a NUL byte");
    total += k.size() + v.size() + 2;
  }
  // Well inside the exec port's one argv frame (64 KiB) and the guest kernel's argument limits.
  if (total > 16 * 1024) {
    return make_error(Errc::invalid_argument, "command, env and cwd together exceed 16 KiB")
        .with("hint", "pass large inputs on stdin or through a volume");
  }
  if (c.cwd.empty() || c.cwd[0] != '/' || !no_nul(c.cwd)) {
    return make_error(Errc::invalid_argument, "cwd must be an absolute path");
  }
  if (c.timeout.count() <= 0) return make_error(Errc::invalid_argument, "timeout must be at least 1 ms");
  return ok();
}

std::vector<std::string> exec_argv(const ShootCommand& c) {
  std::vector<std::string> argv{"/bin/sh", "-c", kWrapper, "shoot", c.cwd, std::to_string(c.env.size())};
  for (const auto& [k, v] : c.env) argv.push_back(k + "=" + v);
  argv.insert(argv.end(), c.argv.begin(), c.argv.end());
  return argv;
}

ExecRoute exec_route(const VmPaths& paths, ExecVia via) {
  // Port 0: a clone runs one command at a time.
  if (via == ExecVia::exec_port) return {paths.exec_socket(0), 0};
  return {paths.agent_socket(), kConsoleExecWindow};
}

ExecVia exec_via(const VmmDriverInfo& driver) {
  return driver.exec_ports > 0 ? ExecVia::exec_port : ExecVia::agent_console;
}

Result<ShootResult> run_command(const ExecRoute& route, const ShootCommand& c) {
  SEED_TRY(validate(c));
  auto channel = SEED_TRY(ExecChannel::open(route.socket, exec_argv(c), kOpenTimeout, route.window));
  ShootResult r;
  const auto started = Clock::now();
  const auto deadline = started + c.timeout;
  size_t stdin_at = 0;
  if (c.stdin_data.empty()) SEED_TRY(channel->close_stdin());
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      // Keep what came; the group is killed here and the VM goes with the caller's teardown.
      (void)channel->kill(SIGKILL);
      r.timed_out = true;
      break;
    }
    const bool stdin_left = stdin_at < c.stdin_data.size();
    pollfd p{channel->fd(), static_cast<short>(POLLIN | (stdin_left ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000))) < 0 && errno != EINTR) {
      return errno_error("polling the clone's exec port failed", errno);
    }
    // stdin one frame at a time while output is read, so a command that writes before it reads
    // all its input never deadlocks against us.
    if (stdin_left && (p.revents & POLLOUT)) {
      auto chunk = std::string_view(c.stdin_data).substr(stdin_at, kExecMaxPayload);
      SEED_TRY(channel->send_stdin(chunk));
      stdin_at += chunk.size();
      if (stdin_at == c.stdin_data.size()) SEED_TRY(channel->close_stdin());
    }
    if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
    auto got = SEED_TRY(channel->read());
    keep(r, c, ShootOutput::out, got.out);
    keep(r, c, ShootOutput::err, got.err);
    if (got.lost) {
      return make_error(Errc::unavailable, "the clone went away while the command ran")
          .with("hint", "the shoot was cancelled or its VM died; seedd's log has the VM's end");
    }
    if (got.ended) {
      r.exit_code = got.exit_code;
      if (r.exit_code > 128 && r.exit_code <= 128 + 64) r.signal = r.exit_code - 128;
      break;
    }
  }
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  return r;
}

}  // namespace seed::vmm::shoot
