#include "vmm/qemu/qemu_driver.hpp"

#include <thread>

#include "common/crash_point.hpp"
#include "common/log.hpp"
#include "common/reverter.hpp"
#include "common/unix_socket.hpp"
#include "vmm/qemu/qemu_args.hpp"
#include "vmm/qemu/qmp_client.hpp"
#include "vmm/qemu/tsc_rate.hpp"

namespace seed::vmm::qemu {
namespace {

using namespace std::chrono_literals;

Result<VmState> map_status(const std::string& status) {
  if (status == "running") return VmState::running;
  if (status == "prelaunch" || status == "inmigrate") return VmState::created;
  if (status == "paused" || status == "postmigrate" || status == "suspended" ||
      status == "save-vm" || status == "restore-vm" || status == "finish-migrate" ||
      status == "debug" || status == "io-error" || status == "watchdog") {
    return VmState::paused;
  }
  if (status == "shutdown" || status == "guest-panicked" || status == "internal-error") {
    return VmState::shutdown;
  }
  return make_error(Errc::protocol, "unknown QEMU run state '" + status + "'");
}

class QemuControl : public VmmControl {
 public:
  explicit QemuControl(QmpClient qmp) : qmp_(std::move(qmp)) {}

  Status boot(const VmSpec&, const VmPaths&) override {
    SEED_TRY(qmp_.execute("cont"));
    return expect(VmState::running, "boot");
  }

  Status restore(const VmSpec&, const VmPaths&, const std::string& dir) override {
    SEED_TRY(check_snapshot_path(dir));
    SEED_TRY(qmp_.execute("migrate-incoming", {{"uri", "exec:cat " + dir + "/state"}}));
    // Loading runs in the background; the state leaves "inmigrate" when it is done.
    for (;;) {
      auto status = SEED_TRY(qmp_.execute("query-status"));
      if (status.value("status", "") != "inmigrate") break;
      std::this_thread::sleep_for(20ms);
    }
    SEED_TRY(qmp_.execute("cont"));
    return expect(VmState::running, "restore");
  }

  Result<VmState> state() override {
    auto status = SEED_TRY(qmp_.execute("query-status"));
    return map_status(status.value("status", ""));
  }

  Status pause() override { return command("stop"); }
  Status resume() override { return command("cont"); }
  Status power_button() override { return command("system_powerdown"); }

  Status snapshot(const std::string& dir) override {
    SEED_TRY(check_snapshot_path(dir));
    if (SEED_TRY(state()) == VmState::running) SEED_TRY(qmp_.execute("stop"));
    SEED_TRY(qmp_.execute("migrate", {{"uri", "exec:cat > " + dir + "/state"}}));
    for (;;) {
      auto m = SEED_TRY(qmp_.execute("query-migrate"));
      std::string status = m.value("status", "");
      if (status == "completed") return ok();
      if (status == "failed" || status == "cancelled") {
        return make_error(Errc::process_failed,
                          "QEMU snapshot " + status + ": " + m.value("error-desc", "no reason given"))
            .with("dir", dir);
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  // Hot-plugs a vhost-user-fs device for `share` into the first free spare root port
  // (VmSpec::hotplug_slots): a socket chardev to virtiofsd first, then the device. QEMU keeps
  // no list of free ports, so the ports are tried in order: an occupied one refuses the
  // device, a missing one ends the search. A microvm has no ports, so it ends there at once.
  Status add_fs(const FsShare& share, const std::string& socket) override {
    const std::string id = "fs-" + share.tag;
    nlohmann::json chardev = {
        {"id", id},
        {"backend",
         {{"type", "socket"},
          {"data", {{"addr", {{"type", "unix"}, {"data", {{"path", socket}}}}}, {"server", false}}}}}};
    if (auto r = qmp_.execute("chardev-add", chardev); !r) {
      return std::move(r).error().with("share", share.tag).with("socket", socket);
    }
    for (unsigned i = 0;; ++i) {
      const std::string port = hotplug_port_id(i);
      auto r = qmp_.execute("device_add", {{"driver", "vhost-user-fs-pci"},
                                           {"id", id},
                                           {"chardev", id},
                                           {"tag", share.tag},
                                           {"bus", port},
                                           // Slot 0 is a root port's only slot; without it
                                           // QEMU would stack devices onto a taken port.
                                           {"addr", "0"}});
      if (r) return ok();
      if (r.error().message.find("not available") != std::string::npos) continue;  // taken
      (void)qmp_.execute("chardev-remove", {{"id", id}});
      if (r.error().message.find("'" + port + "' not found") == std::string::npos) {
        return std::move(r).error().with("share", share.tag).with("port", port);
      }
      return make_error(Errc::unavailable,
                        "cannot hot-add virtio-fs share '" + share.tag + "': " +
                            (i == 0 ? std::string("the VM has no spare hot-plug ports")
                                    : "all " + std::to_string(i) + " spare hot-plug ports are taken"))
          .with("share", share.tag)
          .with("hint", "start the VM with more VmSpec::hotplug_slots (QEMU: q35 root ports)");
    }
  }

  Status quit() override {
    auto r = qmp_.execute("quit");
    // QEMU may close the socket before the reply arrives: that is the expected outcome.
    if (!r && r.error().code != Errc::unavailable) return std::move(r).error();
    return ok();
  }

 private:
  Status expect(VmState want, const char* step) {
    auto got = SEED_TRY(state());
    if (got != want) {
      return make_error(Errc::process_failed, std::string("after ") + step + " the VM is " +
                                                  std::string(to_string(got)) + ", not " +
                                                  std::string(to_string(want)));
    }
    return ok();
  }
  // A command whose reply carries nothing but success; QEMU's own error is kept verbatim.
  Status command(const char* name) {
    auto r = qmp_.execute(name);
    return r ? ok() : Status(std::move(r).error());
  }

  QmpClient qmp_;
};

}  // namespace

Status check_snapshot_path(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return make_error(Errc::invalid_argument, "snapshot directory must be an absolute path")
        .with("dir", path);
  }
  for (char c : path) {
    bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' ||
                 c == '_' || c == '-';
    if (!plain) {
      return make_error(Errc::invalid_argument,
                        "snapshot directory may only contain letters, digits and / . _ -")
          .with("dir", path);
    }
  }
  return ok();
}

QemuDriver::QemuDriver(std::string binary, Accel accel)
    : binary_(std::move(binary)), accel_(accel), tsc_khz_(accel == Accel::tcg ? host_tsc_khz() : 0) {
  info_.name = "qemu";
  info_.snapshot = true;
  info_.tpm = true;
  info_.console_channel = true;
  info_.exec_ports = kExecPorts;
}

Result<LaunchedVmm> QemuDriver::launch(const VmSpec& spec, const VmPaths& paths,
                                       const std::optional<std::string>& restore_from) {
  Reverter revert;
  auto control = SEED_TRY(listen_unix(paths.control_socket()));
  revert.add([p = paths.control_socket()] { ::unlink(p.c_str()); });
  auto agent = SEED_TRY(listen_unix(paths.agent_socket()));
  revert.add([p = paths.agent_socket()] { ::unlink(p.c_str()); });
  auto console = SEED_TRY(listen_unix(paths.console_socket()));
  revert.add([p = paths.console_socket()] { ::unlink(p.c_str()); });

  std::vector<UniqueFd> execs;
  for (unsigned i = 0; i < info_.exec_ports; ++i) {
    execs.push_back(SEED_TRY(listen_unix(paths.exec_socket(i))));
    revert.add([p = paths.exec_socket(i)] { ::unlink(p.c_str()); });
  }

  SpawnOptions options;
  QemuArgsInput input{binary_, accel_, 3, 4, 5, 6, info_.exec_ports, restore_from.has_value(), tsc_khz_};
  options.argv = qemu_args(spec, paths, input);
  options.fds = {{control.get(), 3}, {agent.get(), 4}, {console.get(), 5}};
  for (unsigned i = 0; i < execs.size(); ++i) options.fds.push_back({execs[i].get(), 6 + static_cast<int>(i)});
  options.stdout_mode = Output::file;
  options.stdout_file = paths.vmm_log();
  options.stderr_mode = Output::file;
  options.stderr_file = paths.vmm_log();
  options.owner = paths.owner;
  auto child = spawn(options);
  if (!child) return std::move(child).error().with("stage", "spawn").with("vm", spec.name);
  revert.add([c = &*child] { c->terminate(1s); });
  // QEMU runs (paused at -S) and holds the tap; vm.json names it only after the handshake.
  crash_point("vmm.spawned");
  // QEMU holds the listening sockets now; keeping ours open would let a connect succeed even
  // after QEMU died.
  control.reset();
  agent.reset();
  console.reset();
  execs.clear();

  auto qmp = QmpClient::connect(paths.control_socket(), 30s, child->pidfd());
  if (!qmp) {
    auto exited = child->wait(200ms);
    auto log_tail = read_file(paths.vmm_log());
    std::string why = exited ? "QEMU " + exited->describe() : "QEMU does not answer on QMP";
    return make_error(Errc::process_failed, why + " before it was ready")
        .with("stage", "spawn")
        .with("vm", spec.name)
        .with("binary", binary_)
        .with("vmm_log", log_tail ? log_tail->substr(log_tail->size() > 2000 ? log_tail->size() - 2000 : 0) : "");
  }
  info_.version = qmp->version().text();
  log::info("vmm.launched", {{"vm", spec.name}, {"driver", "qemu"}, {"pid", child->pid()},
                             {"version", info_.version}});
  LaunchedVmm launched{std::move(*child), std::make_unique<QemuControl>(std::move(*qmp))};
  revert.success();
  return launched;
}

Result<std::unique_ptr<VmmControl>> QemuDriver::connect(const VmPaths& paths) {
  auto qmp = SEED_TRY(QmpClient::connect(paths.control_socket(), 5s));
  info_.version = qmp.version().text();
  return std::unique_ptr<VmmControl>(std::make_unique<QemuControl>(std::move(qmp)));
}

}  // namespace seed::vmm::qemu
