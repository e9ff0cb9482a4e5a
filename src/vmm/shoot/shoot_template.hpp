// A shoot template: the shoot guest of one size tier booted once, with no network, no TPM and
// spare PCIe root ports for the shares hot-plugged into each clone, waiting on its agent, then
// snapshotted. It holds no tenant data: clones get their shares only after their restore.
#pragma once

#include <string>

#include "common/error.hpp"
#include "vmm/agent_client.hpp"
#include "vmm/shoot/shoot_types.hpp"
#include "vmm/vm_runner.hpp"

namespace seed::vmm::shoot {

// The guest every shoot boots (the node's shoot image: on this machine the hermetic guest).
struct ShootImage {
  std::string kernel;
  std::string initrd;
  std::string cmdline;
};

// Spare root ports per clone: the store plus this many volumes.
constexpr unsigned kShootHotplugSlots = 8;

// The names of every VM the shoot machinery starts begin with this (the crash cleanup relies
// on it); a template's VM is "shoot-tpl-<tier>".
constexpr const char* kShootVmPrefix = "shoot-";

// Boots the template VM of `tier`, waits until its agent answers, snapshots it into `dir`
// (created; must not exist) and stops the VM. Stage "template" on errors; nothing is left on
// failure.
Status build_template(VmRunner& runner, const ShootImage& image, const ShootTier& tier,
                      const std::string& dir);

// Waits until the agent at `socket` answers ping, and that no earlier answer is still in the
// channel (a clone's first request must get its own answer). Returns the connection.
Result<AgentClient> wait_agent(const std::string& socket, std::chrono::milliseconds timeout);

}  // namespace seed::vmm::shoot
