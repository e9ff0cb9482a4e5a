// Per-instance vTPM lifecycle, the one entry point the reconciler uses:
//
//   start(instance):  validate → provision on first start (swtpm_setup) → health run →
//                     back up the now known-good state → start the VM's swtpm
//   stop:             after the VM (the VM's swtpm also exits by itself when its VMM
//                     disconnects, so it can never outlive the VM for long)
//
// The health run is a separate, short swtpm on the same state with private sockets, before
// the VM's swtpm starts. Why not check the VM's own swtpm? A VMM owns its swtpm's data
// channel (it passes the fd over the control socket and sends CMD_INIT, resetting the TPM), so
// a second client on that swtpm would share the TPM with a running guest and could break its
// command stream. Checking first on a private swtpm costs ~0.1 s per start, never touches a
// running guest, and lets a corrupt state fail the start with a clear error before a VM
// boots on it.
//
// One lock per instance (flock on <run_dir>/vtpm.lock) serialises everything that touches the
// state: start() takes it and hands it to the VM's swtpm, which holds it for as long as it
// lives (also across seedd restarts), so a second start, a health check or a restore while
// the vTPM runs fails with Errc::in_use instead of sharing the state with a running guest.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/process.hpp"
#include "tpm/health.hpp"
#include "tpm/swtpm_process.hpp"
#include "tpm/tpm_paths.hpp"

namespace seed::tpm {

class RunningVtpm {
 public:
  RunningVtpm(TpmPaths paths, SwtpmLaunch launch, Child child, TpmHealth health,
              bool provisioned_now)
      : paths_(std::move(paths)), launch_(std::move(launch)), child_(std::move(child)),
        health_(std::move(health)), provisioned_now_(provisioned_now) {}

  // The socket for the VMM: QEMU `-chardev socket,path=` / Cloud Hypervisor `--tpm socket=`.
  const std::string& ctrl_socket() const { return paths_.ctrl_socket; }
  const TpmPaths& paths() const { return paths_; }
  // What seedd persists to re-adopt this swtpm after its own restart.
  const ProcessRecord& record() const { return child_.record(); }
  Child& process() { return child_; }
  // Empty fingerprint for an adopted swtpm (it is not re-checked while a VM uses it).
  const TpmHealth& health() const { return health_; }
  bool provisioned_now() const { return provisioned_now_; }
  void stop() { stop_swtpm(child_, launch_); }

 private:
  TpmPaths paths_;
  SwtpmLaunch launch_;
  Child child_;
  TpmHealth health_;
  bool provisioned_now_ = false;
};

class TpmManager {
 public:
  explicit TpmManager(TpmSettings settings) : settings_(std::move(settings)) {}

  Result<RunningVtpm> start(const std::string& instance);
  // Health run only (the VM's swtpm must not be running): for `status` and for tests.
  Result<TpmHealth> check(const std::string& instance);
  // The node owner's explicit decision after a corrupt-state error.
  Result<std::string> restore_backup(const std::string& instance);
  // Re-attaches to the VM's swtpm started by an earlier seedd.
  Result<RunningVtpm> adopt(const std::string& instance, const ProcessRecord& record);
  // After a restart, once every swtpm worth keeping is adopted: ends every swtpm an earlier
  // seedd started (marked with run_root) that is not in `keep`: a VM's swtpm started before
  // a record named it (it holds the vTPM lock, so every later start would fail) or a health
  // run cut off half-way. Returns what it ended.
  std::vector<ProcessRecord> end_strays(const std::set<pid_t>& keep);

  Result<TpmPaths> paths(const std::string& instance) const {
    return paths_for(settings_, instance);
  }

 private:
  Status prepare_dirs(const TpmPaths& p);
  Result<UniqueFd> lock(const TpmPaths& p);
  Result<TpmHealth> health_run(const TpmPaths& p);
  Error corrupt(const TpmPaths& p, Error cause);

  TpmSettings settings_;
};

}  // namespace seed::tpm
