#include "tpm/swtpm_process.hpp"

#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/unix_socket.hpp"

namespace seed::tpm {
namespace {

constexpr int kCtrlFd = 3;
constexpr int kServerFd = 4;
constexpr int kHoldFd = 5;

}  // namespace

Result<Child> start_swtpm(const SwtpmLaunch& launch) {
  if (!find_executable(launch.swtpm)) {
    return make_error(Errc::unavailable,
                      "swtpm is not installed or not executable (" + launch.swtpm +
                          "); install the Debian packages swtpm and swtpm-tools")
        .with("program", launch.swtpm);
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(launch.ctrl_socket).parent_path(),
                                      ec);
  UniqueFd ctrl = SEED_TRY(listen_unix(launch.ctrl_socket, 4));
  UniqueFd server;
  SpawnOptions o;
  o.argv = {launch.swtpm,  "socket", "--tpm2", "--tpmstate",
            "dir=" + launch.state_dir + ",mode=0600",
            "--ctrl", "type=unixio,fd=" + std::to_string(kCtrlFd)};
  o.fds.push_back({ctrl.get(), kCtrlFd});
  if (!launch.server_socket.empty()) {
    server = SEED_TRY(listen_unix(launch.server_socket, 4));
    o.argv.insert(o.argv.end(), {"--server", "type=unixio,fd=" + std::to_string(kServerFd)});
    o.fds.push_back({server.get(), kServerFd});
  }
  if (launch.hold_fd >= 0) o.fds.push_back({launch.hold_fd, kHoldFd});
  if (launch.terminate_on_disconnect) o.argv.push_back("--terminate");
  if (launch.init_at_start) o.argv.insert(o.argv.end(), {"--flags", "not-need-init"});
  if (!launch.log_file.empty()) {
    o.argv.insert(o.argv.end(), {"--log", "file=" + launch.log_file + ",level=1"});
    o.stderr_mode = Output::file;
    o.stderr_file = launch.log_file;
  } else {
    o.stderr_mode = Output::null;
  }
  o.stdout_mode = Output::null;
  o.owner = launch.owner;
  o.kill_with_parent = launch.kill_with_parent;
  Child child = SEED_TRY(spawn(o));
  // swtpm checks its state directory and lock before serving: a failure shows up at once.
  auto early = child.wait(std::chrono::milliseconds(50));
  if (early.ok()) {
    std::string log = launch.log_file.empty() ? "" : read_file(launch.log_file).ok()
                                                         ? *read_file(launch.log_file)
                                                         : "";
    ::unlink(launch.ctrl_socket.c_str());
    if (!launch.server_socket.empty()) ::unlink(launch.server_socket.c_str());
    return make_error(Errc::process_failed, "swtpm exited right after starting: " +
                                                early->describe())
        .with("state", launch.state_dir)
        .with("log", log);
  }
  log::debug("tpm.swtpm_started", {{"pid", static_cast<int>(child.pid())},
                                   {"ctrl", launch.ctrl_socket}});
  return child;
}

void stop_swtpm(Child& child, const SwtpmLaunch& launch, std::chrono::milliseconds grace) {
  if (child.pid() > 0) child.terminate(grace);
  ::unlink(launch.ctrl_socket.c_str());
  if (!launch.server_socket.empty()) ::unlink(launch.server_socket.c_str());
}

}  // namespace seed::tpm
