#include "vmm/cloud_hypervisor/ch_control.hpp"

#include "common/log.hpp"
#include "vmm/cloud_hypervisor/ch_config.hpp"
#include "vmm/cloud_hypervisor/ch_restore.hpp"

namespace seed::vmm::ch {

std::string file_url(const std::string& dir) { return "file://" + dir; }

ChControl::ChControl(ChApi api, std::string vm_name, VmPaths paths, ChVersion version)
    : api_(std::move(api)),
      vm_name_(std::move(vm_name)),
      paths_(std::move(paths)),
      version_(version) {}

Error ChControl::tagged(Error err, std::string_view stage) const {
  return std::move(err).with("vm", vm_name_).with("stage", std::string(stage));
}

Result<ChVmInfo> ChControl::confirm_state(std::string_view action, Status call, VmState want) {
  auto info = api_.vm_info();
  if (!info) {
    if (!call) {
      // The call's own error is the diagnosis; say that the state could not be checked.
      return std::move(call).error().with("vm_info_error", info.error().message);
    }
    return std::move(info).error().with("after", std::string(action));
  }
  if (info->state == want) {
    if (!call) {
      log::warn("ch.state_reached_despite_error",
                {{"vm", vm_name_}, {"action", action}, {"state", info->state_name},
                 {"ch_error", std::string(call.error().get("ch_error").value_or(call.error().message))}});
    }
    return std::move(*info);
  }
  if (!call) return std::move(call).error().with("vm_state", info->state_name);
  return make_error(Errc::process_failed,
                    "cloud-hypervisor accepted " + std::string(action) + " but vm.info reports state " +
                        info->state_name + ", not " + std::string(vm_state_name(want)))
      .with("socket", api_.http().socket_path())
      .with("vm_state", info->state_name);
}

Status ChControl::start_agent_bridge(const ChVmInfo& info, std::string_view stage) {
  bridge_.reset();  // a previous bridge holds the socket path
  auto pty = info.console_pty();
  if (!pty) {
    return tagged(make_error(Errc::protocol,
                             "vm.info names no virtio-console pty; the agent channel cannot be served")
                      .with("socket", api_.http().socket_path()),
                  stage);
  }
  auto bridge = ChAgentBridge::start(*pty, paths_.agent_socket());
  if (!bridge) return tagged(std::move(bridge).error(), stage);
  bridge_ = std::move(*bridge);
  return ok();
}

Status ChControl::boot(const VmSpec& spec, const VmPaths& paths) {
  paths_ = paths;
  if (auto st = api_.create_vm(vm_config(spec, paths)); !st) {
    return tagged(std::move(st).error(), "boot");
  }
  auto info = confirm_state("vm.boot", api_.boot_vm(), VmState::running);
  if (!info) return tagged(std::move(info).error(), "boot");
  SEED_TRY(start_agent_bridge(*info, "boot"));
  log::info("ch.vm_booted", {{"vm", vm_name_}, {"version", version_.to_string()}});
  return ok();
}

Status ChControl::restore(const VmSpec& spec, const VmPaths& paths,
                          const std::string& snapshot_dir) {
  paths_ = paths;
  // This VM's own copy of the snapshot (config.json naming its FIFO and sockets), so any
  // number of clones can restore one template side by side.
  auto own = prepare_restore_dir(snapshot_dir, spec, paths);
  if (!own) return tagged(std::move(own).error(), "restore");
  if (auto st = confirm_state("vm.restore", api_.restore_vm(restore_config(*own, version_)),
                              VmState::paused);
      !st) {
    return tagged(std::move(st).error().with("snapshot", snapshot_dir), "boot");
  }
  auto info = confirm_state("vm.resume", api_.resume_vm(), VmState::running);
  if (!info) return tagged(std::move(info).error().with("snapshot", snapshot_dir), "boot");
  SEED_TRY(start_agent_bridge(*info, "boot"));
  log::info("ch.vm_restored", {{"vm", vm_name_}, {"snapshot", snapshot_dir}});
  return ok();
}

Result<VmState> ChControl::state() {
  auto info = api_.vm_info();
  if (!info) return tagged(std::move(info).error(), "runtime");
  return info->state;
}

Status ChControl::pause() {
  if (auto st = confirm_state("vm.pause", api_.pause_vm(), VmState::paused); !st) {
    return tagged(std::move(st).error(), "runtime");
  }
  return ok();
}

Status ChControl::resume() {
  if (auto st = confirm_state("vm.resume", api_.resume_vm(), VmState::running); !st) {
    return tagged(std::move(st).error(), "runtime");
  }
  return ok();
}

Status ChControl::power_button() {
  if (auto st = api_.power_button(); !st) return tagged(std::move(st).error(), "runtime");
  return ok();
}

Status ChControl::snapshot(const std::string& dir) {
  auto info = api_.vm_info();
  if (!info) return tagged(std::move(info).error(), "runtime");
  if (info->state == VmState::running) {
    SEED_TRY(pause());
  } else if (info->state != VmState::paused) {
    return tagged(make_error(Errc::conflict, "cannot snapshot a VM in state " + info->state_name +
                                                 "; it must be running or paused")
                      .with("vm_state", info->state_name),
                  "runtime");
  }
  // A snapshot leaves the state as it was (paused), so only CH's answer tells success.
  if (auto st = api_.snapshot_vm(file_url(dir)); !st) {
    return tagged(std::move(st).error().with("snapshot", dir), "runtime");
  }
  log::info("ch.vm_snapshot", {{"vm", vm_name_}, {"snapshot", dir}});
  return ok();
}

Status ChControl::add_fs(const FsShare& share, const std::string& socket) {
  auto added = api_.add_fs(fs_device_config(share, socket));
  if (!added) return tagged(std::move(added).error().with("share", share.tag), "runtime");
  const auto& device = *added;  // nullopt: cold-added to a VM that is not booted yet
  log::info("ch.fs_added", {{"vm", vm_name_},
                            {"tag", share.tag},
                            {"bdf", device ? device->value("bdf", std::string()) : "(cold)"}});
  return ok();
}

Status ChControl::quit() {
  bridge_.reset();
  auto st = api_.shutdown_vmm();
  // The VMM exits while it answers: a connection closed without an answer, or a socket that is
  // already gone, is the outcome we asked for.
  if (!st && st.error().code != Errc::unavailable) return tagged(std::move(st).error(), "runtime");
  return ok();
}

Status ChControl::reattach() {
  auto info = api_.vm_info();
  if (!info) {
    // A VMM with no VM created yet (launched, never booted) has no console to serve. CH says
    // so with 404 since v53.0 and with 500 before, hence the look at its words as well.
    const auto& err = info.error();
    if (err.code == Errc::not_found ||
        err.get("ch_error").value_or("").find("VM is not created") != std::string_view::npos) {
      return ok();
    }
    return tagged(std::move(info).error(), "runtime");
  }
  if (!info->console_pty()) return ok();
  return start_agent_bridge(*info, "runtime");
}

}  // namespace seed::vmm::ch
