#include "vmm/cloud_hypervisor/ch_driver.hpp"

#include <unistd.h>

#include <fstream>

#include "common/crash_point.hpp"
#include "common/log.hpp"
#include "common/reverter.hpp"
#include "common/unix_socket.hpp"
#include "vmm/cloud_hypervisor/ch_control.hpp"

namespace seed::vmm::ch {
namespace {

using std::chrono::milliseconds;

// The number under which CH finds its API socket (--api-socket fd=3).
constexpr int kApiSocketChildFd = 3;
// How long a VMM that did not answer its first ping gets to show it has exited.
constexpr milliseconds kExitGrace{1000};

std::string basename_of(const std::string& dir) {
  auto slash = dir.find_last_of('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

}  // namespace

std::string log_tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  auto size = static_cast<size_t>(in.tellg());
  size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string tail(size - start, '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  if (start > 0) {
    auto nl = tail.find('\n');
    if (nl != std::string::npos && nl + 1 < tail.size()) tail.erase(0, nl + 1);
  }
  return tail;
}

namespace {
ChDriverOptions with_binary(std::string binary) {
  ChDriverOptions options;
  options.binary = std::move(binary);
  return options;
}
}  // namespace

CloudHypervisorDriver::CloudHypervisorDriver(std::string binary)
    : CloudHypervisorDriver(with_binary(std::move(binary))) {}

CloudHypervisorDriver::CloudHypervisorDriver(ChDriverOptions options)
    : options_(std::move(options)) {
  info_.name = "cloud-hypervisor";
  // Every release from kChMinimumVersion on snapshots, restores, has a vTPM (v28.0) and
  // hot-plugs virtio-fs; hot-plug needs shared guest memory, which memory_config() turns on
  // only for VMs that boot with shares.
  info_.snapshot = true;
  info_.tpm = true;
}

const VmmDriverInfo& CloudHypervisorDriver::info() const {
  std::lock_guard lock(mutex_);
  return info_;
}

std::optional<ChVersion> CloudHypervisorDriver::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

ChApi CloudHypervisorDriver::make_api(const std::string& socket, milliseconds total) const {
  HttpTimeouts timeouts = options_.http;
  timeouts.total = total;
  return ChApi(ChHttpClient(socket, timeouts), options_.calls);
}

Result<ChVersion> CloudHypervisorDriver::note_version(const ChPing& ping) {
  if (ping.parsed < kChMinimumVersion) {
    return make_error(Errc::unavailable,
                      "cloud-hypervisor " + ping.parsed.to_string() + " is too old: Seed needs " +
                          kChMinimumVersion.to_string() + " or newer (tested with " +
                          kChTargetVersion.to_string() + ")")
        .with("version", ping.build_version.empty() ? ping.version : ping.build_version);
  }
  std::lock_guard lock(mutex_);
  if (!version_) {
    version_ = ping.parsed;
    info_.version = ping.build_version.empty() ? ping.version : ping.build_version;
    log::info("ch.version_detected",
              {{"version", info_.version},
               {"error_chain_json", ch_supports(ping.parsed, ChFeature::error_chain_json) ? "yes" : "no"}});
  } else if (*version_ != ping.parsed) {
    // The binary was replaced under a running seedd; gates stay on the first version seen
    // until seedd restarts, and this says so.
    log::warn("ch.version_changed",
              {{"cached", version_->to_string()}, {"seen", ping.parsed.to_string()}});
  }
  return *version_;
}

Result<LaunchedVmm> CloudHypervisorDriver::launch(const VmSpec& spec, const VmPaths& paths,
                                                  const std::optional<std::string>& restore_from) {
  auto fail = [&](Error err) {
    return std::move(err).with("vm", spec.name).with("stage", "spawn");
  };
  const std::string socket = paths.control_socket();

  // Phase 1: the binary. Checked before anything is created, so nothing is left behind.
  if (!find_executable(options_.binary)) {
    return fail(make_error(Errc::unavailable,
                           "cloud-hypervisor binary not found or not executable: " +
                               options_.binary +
                               " (install cloud-hypervisor or set the path to it in the config)")
                    .with("binary", options_.binary));
  }

  // Declared before the Reverter so that its undo steps run while the child still exists.
  Child child;
  Reverter undo;

  // Phase 2: the API socket, bound by us so it accepts connections before CH runs.
  auto listener = listen_unix(socket);
  if (!listener) return fail(std::move(listener).error());
  undo.add([socket] { ::unlink(socket.c_str()); });

  // Phase 3: spawn.
  SpawnOptions spawn_options;
  spawn_options.argv = {options_.binary, "--api-socket", "fd=" + std::to_string(kApiSocketChildFd),
                        "-v"};
  spawn_options.fds = {{listener->get(), kApiSocketChildFd}};
  spawn_options.stdout_mode = Output::file;
  spawn_options.stdout_file = paths.vmm_log();
  spawn_options.stderr_mode = Output::file;
  spawn_options.stderr_file = paths.vmm_log();
  spawn_options.owner = paths.owner;
  auto spawned = spawn(spawn_options);
  if (!spawned) return fail(std::move(spawned).error());
  child = std::move(*spawned);
  undo.add([&child] { child.terminate(milliseconds(1000)); });
  crash_point("vmm.spawned");  // CH runs; vm.json names it only after the first ping
  // Only CH holds the socket from here on: if it dies, callers are refused at once instead
  // of waiting in the listen backlog of a socket nobody will ever accept on.
  listener->reset();

  // Phase 4: the first ping, which also reads the version.
  ChApi api = make_api(socket, options_.start_timeout);
  auto ping = api.ping();
  if (!ping) {
    auto exited = child.wait(kExitGrace);
    Error err = exited ? make_error(Errc::process_failed,
                                    "cloud-hypervisor exited at once (" + exited->describe() +
                                        "); see its log " + paths.vmm_log())
                             .with("api_error", ping.error().message)
                       : std::move(ping).error();
    return fail(std::move(err)
                    .with("binary", options_.binary)
                    .with("log", paths.vmm_log())
                    .with("log_tail", log_tail(paths.vmm_log())));
  }

  // Phase 5: the version gate.
  auto version = note_version(*ping);
  if (!version) return fail(std::move(version).error().with("binary", options_.binary));

  log::info("ch.launched", {{"vm", spec.name},
                            {"pid", child.pid()},
                            {"version", version->to_string()},
                            {"restore", restore_from.value_or("no")}});
  auto control = std::make_unique<ChControl>(make_api(socket, options_.http.total), spec.name,
                                             paths, *version);
  undo.success();
  return LaunchedVmm{std::move(child), std::move(control)};
}

Result<std::unique_ptr<VmmControl>> CloudHypervisorDriver::connect(const VmPaths& paths) {
  const std::string name = basename_of(paths.dir);
  auto fail = [&](Error err) { return std::move(err).with("vm", name).with("stage", "runtime"); };
  ChApi api = make_api(paths.control_socket(), options_.http.total);
  auto ping = api.ping();
  if (!ping) return fail(std::move(ping).error());
  auto version = note_version(*ping);
  if (!version) return fail(std::move(version).error());
  auto control = std::make_unique<ChControl>(std::move(api), name, paths, *version);
  if (auto st = control->reattach(); !st) return std::move(st).error();
  log::info("ch.connected", {{"vm", name}, {"version", version->to_string()}});
  return std::unique_ptr<VmmControl>(std::move(control));
}

}  // namespace seed::vmm::ch
