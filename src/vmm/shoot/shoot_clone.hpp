// One shoot clone: a fresh VMM process (QEMU, or Cloud Hypervisor through its per-VM copy of
// the snapshot, cloud_hypervisor/ch_restore.hpp) restored from a tier's template under its own
// name (own runtime directory and sockets), then, per shoot: the parent's shares hot-plugged and
// mounted, the RNG reseeded and the clock set, the command run, and everything destroyed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vmm/agent_client.hpp"
#include "vmm/shoot/shoot_exec.hpp"
#include "vmm/shoot/shoot_types.hpp"
#include "vmm/vm_runner.hpp"

namespace seed::vmm::shoot {

class ShootVm {
 public:
  // Restores `template_dir` (build_template) as VM `name` and waits for its agent. Stage
  // "restore"; nothing is left on failure.
  static Result<std::unique_ptr<ShootVm>> restore(VmRunner& runner, const std::string& template_dir,
                                                  const std::string& name);
  ~ShootVm();  // destroys the VM if destroy() was not called

  const std::string& name() const;
  std::chrono::microseconds restore_time() const { return restore_time_; }

  // Hot-plugs each share (virtiofsd + device into a spare root port) and mounts it at its
  // mount point inside. Stage "attach".
  Status attach(const std::vector<ShootMount>& mounts);
  // Mixes `nonce` (fresh host random bytes) into the guest's RNG with a forced reseed and sets
  // its clock to the host's now: clones of one template wake with equal RNG state and the
  // snapshot's time. Stage "prepare".
  Status prepare(const std::string& nonce);
  // Runs the command (shoot_exec.hpp) through the channel the clone's driver offers, or
  // through `via` (a test runs the Cloud Hypervisor route on a QEMU clone). The agent console
  // takes one client, so that route ends the clone's agent connection: after it, only
  // destroy() is left. At the deadline the result has timed_out (with the output so far):
  // destroy the VM then.
  Result<ShootResult> run(const ShootCommand& command, std::optional<ExecVia> via = std::nullopt);
  // Ends the VMM and every helper, removes sockets, directories and its console log. Idempotent.
  void destroy();
  // SIGKILLs the clone's VMM, from any thread (a caller that hung up): the agent call in
  // flight fails at once; destroy() then removes the rest.
  void kill();

 private:
  ShootVm() = default;
  std::unique_ptr<RunningVm> vm_;
  std::optional<AgentClient> agent_;
  ExecVia exec_via_ = ExecVia::exec_port;
  std::chrono::microseconds restore_time_{0};
};

// `n` random bytes from the host (OpenSSL's CSPRNG).
std::string host_nonce(size_t n = 32);

}  // namespace seed::vmm::shoot
