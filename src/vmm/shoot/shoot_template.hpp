// A shoot template: the shoot guest of one size tier booted once, with no network, no TPM and
// spare PCIe root ports for the shares hot-plugged into each clone, waiting on its agent, then
// snapshotted. It holds no tenant data: clones get their shares only after their restore.
// Templates are kept in seedd's state directory across restarts, keyed by everything that
// makes them (template_key), so a restart reuses them instead of booting each tier again.
#pragma once

#include <string>

#include "common/error.hpp"
#include "vmm/agent_client.hpp"
#include "vmm/driver.hpp"
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

// Bumped whenever what a template directory holds changes meaning: older ones then rebuild.
constexpr int kTemplateFormat = 1;

// The file in a template directory that makes it valid: written last, holding the key it was
// built for. A directory without it (a build killed half-way) is never restored from.
constexpr const char* kTemplateKeyFile = "template.key";

// The text a tier's template is keyed by: seedd's template format, the driver's name, the
// SHA-256 of the kernel's and initrd's contents, the cmdline, the tier's shape and the hot-plug
// slot count. Errc::io when the image files cannot be read. The VMM's version is kept beside it
// (ensure_template): a driver knows it only once it has launched or connected to a VMM.
Result<std::string> template_key(const ShootImage& image, const ShootTier& tier, const VmmDriverInfo& driver);

// Where a tier's template came from in this seedd's life.
enum class TemplateOrigin {
  none,     // not there yet (building, or failed)
  built,    // booted and snapshotted at this start (none was kept, or it did not match)
  reused,   // kept from an earlier start: its key matched, nothing was booted
  rebuilt,  // a reused one failed to restore, so it was built again
};
const char* to_string(TemplateOrigin origin);

struct EnsuredTemplate {
  TemplateOrigin origin = TemplateOrigin::none;  // built or reused
  std::string vmm_version;  // the VMM version that made it: a reused template whose first
                            // clone finds another version is rebuilt (ShootPool)
};

// The template of `tier` at `dir`: reused when `dir` holds one keyed `key` (unless `rebuild`)
// and made by the driver's VMM version when that is known yet,
// else built with build_template into "<dir>.building" (files and directory fsynced, the key
// written last) and renamed over `dir`, so a kill at any point leaves either the old template,
// none, or a ".building" directory that is never restored from (and removed at the next try).
// Stage "template" on errors, nothing left behind.
Result<EnsuredTemplate> ensure_template(VmRunner& runner, const ShootImage& image, const ShootTier& tier,
                                       const std::string& dir, const std::string& key, bool rebuild);

// Waits until the agent at `socket` answers ping, and that no earlier answer is still in the
// channel (a clone's first request must get its own answer). Returns the connection.
Result<AgentClient> wait_agent(const std::string& socket, std::chrono::milliseconds timeout);

}  // namespace seed::vmm::shoot
