// The shoot pool: per size tier, a template and clones restored from it waiting for work, so a
// shoot's restore happens off the request path. A background thread builds the templates, then
// keeps each tier at its configured number of ready clones, within a node-wide cap on shoot VMs
// and on their memory (ready and in use counted alike). A request for a tier with none ready
// restores one itself when the caps allow, first evicting ready clones of other tiers; at the
// caps it waits for restores in flight (the refill's clone, or a slot it frees), and only
// beyond the caps with none in flight does it get Errc::unavailable. After a seedd crash,
// remove_leftovers() ends every shoot VM: clones are never re-adopted (each ran one tenant's
// command). Templates are kept across restarts in a state directory and reused while their key
// matches (shoot_template.hpp); one that fails to restore is rebuilt once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "vmm/shoot/shoot_clone.hpp"
#include "vmm/shoot/shoot_template.hpp"

namespace seed::vmm::shoot {

struct ShootPoolTier {
  ShootTier tier;
  unsigned ready = 1;  // clones kept restored and waiting (shoot.pool.<tier>)
};

struct ShootPoolConfig {
  // Templates live in <dir>/<tier> (a state directory: kept across restarts); anything else
  // in <dir> (removed tiers, unfinished builds) is deleted at start.
  std::string dir;
  ShootImage image;
  std::vector<ShootPoolTier> tiers;
  unsigned max_vms = 8;            // shoot VMs on the node, ready and in use
  uint64_t max_memory_mib = 2048;  // their guest memory
};

struct ShootTierStats {
  std::string tier;
  unsigned vcpus = 0;
  uint64_t memory_mib = 0;     // per clone
  unsigned target = 0;         // ready clones the refill keeps (shoot.tiers[].pool)
  bool template_ready = false;
  std::string template_error;  // why the template could not be built ("" when fine)
  TemplateOrigin template_origin = TemplateOrigin::none;
  uint64_t template_builds = 0;  // templates booted for this tier since the pool started
  unsigned ready = 0;
  unsigned restoring = 0;
  unsigned in_use = 0;
  uint64_t restores = 0;  // clones restored so far
  uint64_t served = 0;    // clones handed out
  uint64_t waits = 0;     // times a request at the caps waited for a restore in flight
};

// The node-wide counts the caps apply to: ready, restoring and in-use clones alike.
struct ShootPoolTotals {
  unsigned vms = 0;
  unsigned max_vms = 0;
  uint64_t memory_mib = 0;
  uint64_t max_memory_mib = 0;
};

class ShootPool;

// One clone handed out by the pool. Destroying it destroys the clone (QEMU, virtiofsds,
// sockets, directories) and wakes the refill.
class ShootLease {
 public:
  ShootLease(ShootLease&&) noexcept;
  ~ShootLease();
  ShootVm& vm() { return *vm_; }
  // How long this request waited for its restore (0 when a ready clone was taken).
  std::chrono::microseconds restore_time() const { return restore_time_; }
  // Destroys now and returns how long that took.
  std::chrono::microseconds release();

 private:
  friend class ShootPool;
  ShootLease(ShootPool* pool, std::string tier, std::unique_ptr<ShootVm> vm, std::chrono::microseconds restore)
      : pool_(pool), tier_(std::move(tier)), vm_(std::move(vm)), restore_time_(restore) {}
  ShootPool* pool_;
  std::string tier_;
  std::unique_ptr<ShootVm> vm_;
  std::chrono::microseconds restore_time_{0};
};

class ShootPool {
 public:
  static constexpr std::chrono::seconds kTakeWait{120};
  ShootPool(VmRunner& runner, ShootPoolConfig config);
  ~ShootPool();  // stops the refill, destroys the ready clones (leases must be gone first)

  // Ends every shoot VM an earlier seedd left behind (recorded VMs named shoot-*: their QEMU,
  // virtiofsds, directories and console logs). The kept templates stay (start() checks them). Run before start(), after
  // the runner's owners adopted their own VMs. Returns the names of the VMs ended.
  std::vector<std::string> remove_leftovers();
  // Starts the background thread: templates first, then the refill.
  void start();
  // A clone of `tier`. Errc::not_found: no such tier; Errc::unavailable: its template is not
  // ready (yet, or it failed: the error says), or the node's shoot caps are reached by clones
  // in use (at the caps with restores in flight, it waits for them, up to kTakeWait, or until
  // `cancelled` turns true: its caller hung up, nothing is taken).
  Result<ShootLease> take(const std::string& tier, const std::atomic<bool>* cancelled = nullptr);
  std::vector<ShootTierStats> stats() const;
  ShootPoolTotals totals() const;
  // Blocks until every tier with a template has its ready count (or `timeout` passes).
  bool wait_filled(std::chrono::milliseconds timeout) const;

 private:
  friend class ShootLease;
  struct Tier {
    ShootPoolTier config;
    std::deque<std::unique_ptr<ShootVm>> ready;
    unsigned in_use = 0;
    unsigned restoring = 0;
    bool template_ready = false;
    std::string template_error;
    TemplateOrigin origin = TemplateOrigin::none;
    uint64_t builds = 0;
    std::string vmm_version;  // of the VMM that made the template
    bool rebuild = false;  // a restore from the reused template failed: the refill rebuilds it
    uint64_t restores = 0;
    uint64_t served = 0;
    uint64_t waits = 0;
  };
  void refill_loop();
  // Without mu_: reuses or builds the tier's template (rebuild: builds it whatever is kept).
  void settle_template(const ShootTier& tier, bool rebuild);
  // Under mu_: a restore of `t` failed. A reused template is then suspect: rebuilt once; a
  // rebuilt one that fails too marks the tier failed with the error.
  void restore_failed(Tier& t, const Error& error);
  // Under mu_: an error when `t`'s template was reused and the VMM that just restored a clone
  // of it (so its version is known now) is not the one that made it.
  std::optional<Error> vmm_changed(const Tier& t);
  // Deletes what is in config_.dir but no configured tier's template.
  void remove_stale_templates();
  void returned(const std::string& tier);
  // Under mu_: whether one more clone of `t` fits the caps.
  bool fits(const Tier& t) const;
  unsigned vms_locked() const;
  unsigned restores_in_flight() const;  // under mu_
  uint64_t memory_locked() const;
  std::string next_name(const std::string& tier);
  std::string template_dir(const std::string& tier) const { return config_.dir + "/" + tier; }

  VmRunner& runner_;
  ShootPoolConfig config_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::map<std::string, Tier> tiers_;
  uint64_t seq_ = 0;
  bool stopping_ = false;
  std::thread refill_;
};

}  // namespace seed::vmm::shoot
