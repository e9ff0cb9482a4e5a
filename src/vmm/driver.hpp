// The hypervisor driver interface. A driver knows how to start its VMM process and how to
// talk to it; everything around that (virtiofsd, console capture, records, the ordered
// start phases and the single stop path) is shared and lives in vm_runner.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/process.hpp"
#include "vmm/vm_paths.hpp"
#include "vmm/vm_spec.hpp"

namespace seed::vmm {

enum class VmState { created, running, paused, shutdown };
inline std::string_view to_string(VmState state) {
  switch (state) {
    case VmState::created: return "created";
    case VmState::running: return "running";
    case VmState::paused: return "paused";
    case VmState::shutdown: return "shutdown";
  }
  return "unknown";
}

// What a driver can do, so callers branch on capabilities instead of on driver names.
// VmRunner reads the flags before it spawns anything (a TPM the driver cannot attach, a
// restore it cannot do, is a "prepare" error, not a half-started VM). virtio-fs hot-plug has
// no flag yet: its only user, shoots, adds one that is true only for VMs booted with shared
// guest memory (DESIGN.md §11), which is a property of the VM, not of the driver.
struct VmmDriverInfo {
  std::string name;       // "cloud-hypervisor" or "qemu"
  std::string version;    // as the VMM reports it
  bool snapshot = false;  // RunningVm::snapshot and VmRunner::restore work
  bool tpm = false;       // a spec's tpm_socket is attached as a TPM 2.0 device
  // The guest gets the `seed.console` port (VmPaths::console_socket) for `ssh -t node console`.
  // Cloud Hypervisor has one console port, the agent's, so its driver has none.
  bool console_channel = false;
  // How many `org.seed.exec.<i>` ports (VmPaths::exec_socket) the guest gets: the concurrent
  // `ssh <node> exec` sessions an instance takes. 0 under Cloud Hypervisor (one console port).
  unsigned exec_ports = 0;
};

// The exec ports QEMU gives every guest: enough for a few concurrent debugging sessions; each
// costs a socket and a virtio-serial port, nothing while unused.
inline constexpr unsigned kExecPorts = 4;

// A control connection to one running VMM process.
class VmmControl {
 public:
  virtual ~VmmControl() = default;
  // Starts the guest described by `spec` in a freshly launched VMM.
  virtual Status boot(const VmSpec& spec, const VmPaths& paths) = 0;
  // Brings back a guest from `snapshot_dir` in a VMM launched for restoring, then runs it.
  virtual Status restore(const VmSpec& spec, const VmPaths& paths,
                         const std::string& snapshot_dir) = 0;
  virtual Result<VmState> state() = 0;
  virtual Status pause() = 0;
  virtual Status resume() = 0;
  // ACPI power button: asks the guest to shut down.
  virtual Status power_button() = 0;
  // Writes a snapshot of the (paused) guest into `dir`, which must exist and be empty.
  virtual Status snapshot(const std::string& dir) = 0;
  virtual Status add_fs(const FsShare& share, const std::string& socket) = 0;
  // Asks the VMM process to exit (after the guest is stopped, or to abandon it).
  virtual Status quit() = 0;
};

struct LaunchedVmm {
  Child process;
  std::unique_ptr<VmmControl> control;
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual const VmmDriverInfo& info() const = 0;
  // Spawns the VMM for `spec` (not yet running the guest). With `restore_from`, the VMM is
  // prepared to receive a snapshot instead of booting. Stage "spawn".
  virtual Result<LaunchedVmm> launch(const VmSpec& spec, const VmPaths& paths,
                                     const std::optional<std::string>& restore_from) = 0;
  // Re-attaches to a VMM started earlier (by this or a previous seedd).
  virtual Result<std::unique_ptr<VmmControl>> connect(const VmPaths& paths) = 0;
};

}  // namespace seed::vmm
