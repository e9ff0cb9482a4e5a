// VmRunner: starts, restores, re-adopts and stops microVMs through any Driver.
//
// Starting is a sequence of named phases, each tagged on its errors as the stage:
//   prepare (validate the spec, runtime directory, socket paths, helpers)
//   spawn   (the VMM process)
//   boot    (the guest runs)
// Every failure funnels into one stop path that removes what was made, best-effort, and keeps
// the first error. What was started is recorded in <runtime>/vm/<name>/vm.json as it is
// started, so a restarted seedd can re-adopt the VM, or clean up a start it did not finish;
// a process seedd died too early to record is found by its owner mark (end_strays).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/process.hpp"
#include "vmm/console/console_log.hpp"
#include "vmm/driver.hpp"

namespace seed::vmm {

struct RunnerSettings {
  std::string runtime_dir = "/run/seedd";
  std::string state_dir = "/var/lib/seed";
  std::string virtiofsd_binary = "/usr/lib/qemu/virtiofsd";
  std::string console_logger_binary = "seed-console-logger";
  ConsoleLogLimits console;
};

// How a VM ended: the VMM's exit status and a ready-made error (stage "runtime") that carries
// the tails of the VMM log and of the console.
struct VmExit {
  ExitStatus status;
  Error report;
};

class RunningVm {
 public:
  ~RunningVm();  // releases handles only: the VM keeps running unless stop() was called
  const VmSpec& spec() const { return spec_; }
  const VmPaths& paths() const { return paths_; }
  VmmControl& control() { return *control_; }
  Child& vmm() { return vmm_; }
  // True when this handle came from adopt() (a previous seedd started the VM).
  bool adopted() const { return adopted_; }

  // Pauses, writes a snapshot (plus the spec) into `dir` (created, must not exist), resumes.
  Status snapshot(const std::string& dir);

  // Hot-plugs `share` into a spare root port of the running VM (VmSpec::hotplug_slots): starts
  // its virtiofsd, records it like the spec's own (so stop() and a restarted seedd end it),
  // then VmmControl::add_fs. On failure the virtiofsd is ended again. Stage "attach".
  Status add_share(const FsShare& share);

  // Graceful stop: ACPI power button, up to `grace` for the guest to power off, then the VMM
  // is told to quit, then killed. Helpers stop and runtime files go. Idempotent.
  Status stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // Waits up to `timeout` for the VMM to exit on its own (Errc::timeout if it does not). On
  // exit, reports how it ended and cleans up like stop().
  Result<VmExit> wait_exit(std::optional<std::chrono::milliseconds> timeout);

 private:
  friend class VmRunner;
  RunningVm() = default;
  void stop_helpers_and_clean();
  Status persist() const;

  VmSpec spec_;
  VmPaths paths_;
  std::string driver_name_;
  bool can_snapshot_ = false;  // the driver's VmmDriverInfo::snapshot
  std::string virtiofsd_binary_;  // RunnerSettings::virtiofsd_binary, for add_share
  Child vmm_;
  std::unique_ptr<VmmControl> control_;
  Child logger_;
  std::map<std::string, Child> fs_daemons_;
  bool adopted_ = false;
  bool stopped_ = false;
};

class VmRunner {
 public:
  VmRunner(Driver& driver, RunnerSettings settings);

  Result<std::unique_ptr<RunningVm>> start(const VmSpec& spec);
  // Starts a VM from a snapshot directory written by RunningVm::snapshot(). With `as_name`
  // the VM runs under that name (its own runtime directory and sockets), so one snapshot can
  // be restored many times side by side (shoot clones).
  Result<std::unique_ptr<RunningVm>> restore(const std::string& snapshot_dir,
                                             const std::optional<std::string>& as_name = std::nullopt);
  // Re-attaches to a VM started earlier, from its record. Errc::not_found when the VM is no
  // longer running (its leftovers are then cleaned up).
  Result<std::unique_ptr<RunningVm>> adopt(const std::string& name);
  // Names of VMs with a record in the runtime directory.
  std::vector<std::string> recorded() const;
  // After a restart, once the VMs are adopted (adopt() may replace a logger): ends every
  // process an earlier seedd started for a VM (the VMM, virtiofsd, console logger; marked by
  // VmPaths::owner) that no VM record names, e.g. a QEMU spawned before its vm.json named it,
  // still holding its tap. Returns what it ended.
  std::vector<ProcessRecord> end_strays();

  const RunnerSettings& settings() const { return settings_; }
  Driver& driver() { return driver_; }

 private:
  Result<std::unique_ptr<RunningVm>> launch(const VmSpec& spec,
                                            const std::optional<std::string>& snapshot_dir);
  Status prepare_runtime_dir(RunningVm& vm);  // the VM's directories; refuses one already recorded

  Driver& driver_;
  RunnerSettings settings_;
};

}  // namespace seed::vmm
