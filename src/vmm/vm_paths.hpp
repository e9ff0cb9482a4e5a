// Where one VM's sockets, FIFO and records live. Runtime files (sockets, the VM record) are
// under seedd's runtime directory and vanish with a host reboot, like the VM itself; console
// logs are under the state directory so they survive one.
#pragma once

#include <string>

namespace seed::vmm {

struct VmPaths {
  std::string dir;          // <runtime_dir>/vm/<name>
  std::string console_dir;  // <state_dir>/console/<name>
  // The runtime directory of the seedd running this VM: every process started for the VM (the
  // VMM and its helpers) is marked with it (SpawnOptions::owner), so a restarted seedd finds
  // one it died too early to record. Empty: unmarked (tests that drive a driver directly).
  std::string owner;

  static VmPaths for_vm(const std::string& runtime_dir, const std::string& state_dir,
                        const std::string& name) {
    return VmPaths{runtime_dir + "/vm/" + name, state_dir + "/console/" + name, runtime_dir};
  }

  // The VMM's control socket: Cloud Hypervisor's API socket or QEMU's QMP socket. seedd binds
  // it and passes the listening fd, so it exists before the VMM runs.
  std::string control_socket() const { return dir + "/control.sock"; }
  // The agent channel (virtio-console in the guest, /dev/hvc0).
  std::string agent_socket() const { return dir + "/agent.sock"; }
  // The console channel (the guest's `seed.console` port): one interactive shell at a time.
  std::string console_socket() const { return dir + "/console.sock"; }
  // Exec channel i (the guest's `org.seed.exec.<i>` port): one `ssh <node> exec` at a time each.
  std::string exec_socket(unsigned i) const { return dir + "/exec." + std::to_string(i) + ".sock"; }
  // The serial port writes into this FIFO; the console logger reads it.
  std::string serial_fifo() const { return dir + "/serial.fifo"; }
  // The log channel (the guest's `seed.log` virtio-console port) writes into this FIFO; the
  // console logger reads it too.
  std::string log_fifo() const { return dir + "/log.fifo"; }
  std::string fs_socket(const std::string& tag) const { return dir + "/fs-" + tag + ".sock"; }
  // Everything the VMM and its helpers print about themselves (not the guest console).
  std::string vmm_log() const { return dir + "/vmm.log"; }
  std::string fs_log(const std::string& tag) const { return dir + "/fs-" + tag + ".log"; }
  // The persisted record seedd re-adopts the VM from after a restart.
  std::string record_file() const { return dir + "/vm.json"; }
  std::string console_log() const { return console_dir + "/console.log"; }
  // The structured log store `logs` reads (vmm/console/log_store.hpp).
  std::string log_store() const { return console_dir + "/log.jsonl"; }
};

}  // namespace seed::vmm
