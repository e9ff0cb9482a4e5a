#include "vmm/shoot/shoot_pool.hpp"

#include <cstdlib>
#include <filesystem>
#include <utility>

#include "common/log.hpp"

namespace seed::vmm::shoot {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {
std::chrono::microseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t);
}
}  // namespace

ShootLease::ShootLease(ShootLease&& other) noexcept
    : pool_(other.pool_), tier_(std::move(other.tier_)), vm_(std::move(other.vm_)), restore_time_(other.restore_time_) {
  other.pool_ = nullptr;
}

ShootLease::~ShootLease() { (void)release(); }

std::chrono::microseconds ShootLease::release() {
  if (!vm_) return std::chrono::microseconds(0);
  auto t = Clock::now();
  vm_->destroy();
  vm_.reset();
  auto took = since(t);
  if (pool_ != nullptr) pool_->returned(tier_);
  return took;
}

ShootPool::ShootPool(VmRunner& runner, ShootPoolConfig config) : runner_(runner), config_(std::move(config)) {
  for (const auto& t : config_.tiers) tiers_[t.tier.name].config = t;
}

ShootPool::~ShootPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (refill_.joinable()) refill_.join();
  std::lock_guard lock(mu_);
  for (auto& [name, t] : tiers_) {
    if (t.in_use != 0) {
      // A lease outlives its pool: it would hand its clone back to freed memory when its
      // shoot ends. Its owner must end every shoot first; stop loudly here instead.
      log::error("shoot.pool.destroyed_in_use", {{"tier", name}, {"in_use", t.in_use}});
      std::abort();
    }
    t.ready.clear();  // ShootVm's destructor destroys each
  }
}

std::vector<std::string> ShootPool::remove_leftovers() {
  std::vector<std::string> ended;
  for (const auto& name : runner_.recorded()) {
    if (name.rfind(kShootVmPrefix, 0) != 0) continue;
    // adopt() tidies a VM that is already gone; a live one is ended without ceremony.
    auto vm = runner_.adopt(name);
    if (!vm) {
      // Its directory stays, and next_name() skips its name.
      log::error("shoot.leftover.unremovable", {{"vm", name}, {"error", vm.error().describe()}});
      continue;
    }
    (void)(*vm)->stop(std::chrono::milliseconds(0));
    ended.push_back(name);
    log::warn("shoot.leftover.removed", {{"vm", name}});
  }
  // A VM directory without a record (seedd died before writing it): nothing of it runs that
  // end_strays would not end, but its directory would block the name.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(runner_.settings().runtime_dir + "/vm", ec)) {
    const std::string name = entry.path().filename();
    if (name.rfind(kShootVmPrefix, 0) == 0 && !fs::exists(entry.path() / "vm.json")) fs::remove_all(entry.path(), ec);
  }
  // Their console logs, and the template builds' (<state>/console/shoot-*): no VM of this pool
  // exists yet, so each is an earlier seedd's, and the next clone of its name must not
  // append to it.
  for (const auto& entry : fs::directory_iterator(runner_.settings().state_dir + "/console", ec)) {
    if (entry.path().filename().string().rfind(kShootVmPrefix, 0) == 0) fs::remove_all(entry.path(), ec);
  }
  return ended;
}

void ShootPool::remove_stale_templates() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(config_.dir, ec)) {
    const std::string name = entry.path().filename();
    if (tiers_.count(name) != 0) continue;  // tiers_' keys never change: no lock needed
    fs::remove_all(entry.path(), ec);
    log::info("shoot.template.removed", {{"dir", entry.path().string()}});
  }
}

void ShootPool::settle_template(const ShootTier& tier, bool rebuild) {
  auto key = template_key(config_.image, tier, runner_.driver().info());
  auto origin = key ? ensure_template(runner_, config_.image, tier, template_dir(tier.name), *key, rebuild)
                    : Result<EnsuredTemplate>(std::move(key).error());
  std::lock_guard lock(mu_);
  Tier& t = tiers_[tier.name];
  t.template_ready = origin.ok();
  if (origin) {
    t.origin = rebuild ? TemplateOrigin::rebuilt : origin->origin;
    t.vmm_version = origin->vmm_version;
    if (origin->origin != TemplateOrigin::reused) t.builds++;
    t.template_error.clear();
  } else {
    t.origin = TemplateOrigin::none;
    t.template_error = origin.error().message;
    log::error("shoot.template.failed", {{"tier", tier.name}, {"error", origin.error().describe()}});
  }
  changed_.notify_all();
}

std::optional<Error> ShootPool::vmm_changed(const Tier& t) {
  const std::string now = runner_.driver().info().version;
  if (t.origin != TemplateOrigin::reused || now == t.vmm_version) return std::nullopt;
  return make_error(Errc::unavailable, "the template was made by VMM version " + t.vmm_version + ", this is " + now);
}

void ShootPool::restore_failed(Tier& t, const Error& error) {
  if (t.origin == TemplateOrigin::reused && !t.rebuild) {
    log::warn("shoot.template.restore_failed", {{"tier", t.config.tier.name}, {"error", error.describe()}});
    t.rebuild = true;
    t.template_ready = false;  // nothing restores from it until it is rebuilt
  } else if (t.origin == TemplateOrigin::rebuilt) {
    t.template_ready = false;
    t.origin = TemplateOrigin::none;
    t.template_error = "a clone of the rebuilt template did not restore: " + error.message;
    log::error("shoot.template.failed", {{"tier", t.config.tier.name}, {"error", error.describe()}});
  }
  changed_.notify_all();
}

void ShootPool::start() {
  std::error_code ec;
  fs::create_directories(config_.dir, ec);
  remove_stale_templates();
  refill_ = std::thread([this] { refill_loop(); });
}

unsigned ShootPool::vms_locked() const {
  unsigned n = 0;
  for (const auto& [name, t] : tiers_) n += static_cast<unsigned>(t.ready.size()) + t.in_use + t.restoring;
  return n;
}

unsigned ShootPool::restores_in_flight() const {
  unsigned n = 0;
  for (const auto& [name, t] : tiers_) n += t.restoring;
  return n;
}

uint64_t ShootPool::memory_locked() const {
  uint64_t mib = 0;
  for (const auto& [name, t] : tiers_) {
    mib += (t.ready.size() + t.in_use + t.restoring) * t.config.tier.memory_mib;
  }
  return mib;
}

bool ShootPool::fits(const Tier& t) const {
  return vms_locked() + 1 <= config_.max_vms && memory_locked() + t.config.tier.memory_mib <= config_.max_memory_mib;
}

std::string ShootPool::next_name(const std::string& tier) {
  // Names restart with each pool. A leftover remove_leftovers could not remove (its record
  // unreadable, its VMM unkillable) keeps its directory, and a clone of that name would fail
  // its restore every time: such names are skipped.
  for (;;) {
    std::string name = std::string(kShootVmPrefix) + tier + "-" + std::to_string(++seq_);
    std::error_code ec;
    if (!fs::exists(runner_.settings().runtime_dir + "/vm/" + name, ec)) return name;
    log::warn("shoot.name.taken_by_leftover", {{"vm", name}});
  }
}

void ShootPool::returned(const std::string& tier) {
  {
    std::lock_guard lock(mu_);
    auto it = tiers_.find(tier);
    if (it != tiers_.end() && it->second.in_use > 0) it->second.in_use--;
  }
  changed_.notify_all();
}

Result<ShootLease> ShootPool::take(const std::string& tier, const std::atomic<bool>* cancelled) {
  std::unique_lock lock(mu_);
  auto it = tiers_.find(tier);
  if (it == tiers_.end()) {
    return make_error(Errc::not_found, "no shoot size tier '" + tier + "' on this node").with("stage", "shoot");
  }
  Tier& t = it->second;
  if (!t.template_ready) {
    return make_error(Errc::unavailable, t.template_error.empty()
                                             ? "the shoot template of tier '" + tier + "' is still being built"
                                             : "the shoot template of tier '" + tier + "' failed: " + t.template_error)
        .with("stage", "shoot");
  }
  // At the caps with restores in flight (the refill's, or other requests'), a clone is about
  // to be ready or a slot about to be free: wait for it rather than refuse. Only when no
  // restore is left to wait for are the caps really reached. Restores are bounded by their
  // own timeouts; kTakeWait is a backstop.
  const auto give_up = Clock::now() + kTakeWait;
  std::string clone_name;
  bool counted_wait = false;
  for (;;) {
    if (!t.ready.empty()) {
      auto vm = std::move(t.ready.front());
      t.ready.pop_front();
      t.in_use++;
      t.served++;
      lock.unlock();
      changed_.notify_all();  // refill
      return ShootLease(this, tier, std::move(vm), std::chrono::microseconds(0));
    }
    // None ready: make room by evicting ready clones of other tiers, then restore here.
    std::vector<std::unique_ptr<ShootVm>> evicted;
    for (auto& [name, other] : tiers_) {
      while (!fits(t) && !other.ready.empty()) {
        evicted.push_back(std::move(other.ready.back()));
        other.ready.pop_back();
      }
    }
    if (fits(t)) {
      t.restoring++;
      clone_name = next_name(tier);
      lock.unlock();
      evicted.clear();  // destroyed outside the lock
      break;
    }
    if (!evicted.empty()) {
      lock.unlock();
      evicted.clear();
      lock.lock();
      continue;
    }
    if (restores_in_flight() == 0 || stopping_ || Clock::now() >= give_up) {
      return make_error(Errc::unavailable, "the node runs as many shoots as it may (" +
                                               std::to_string(config_.max_vms) + " VMs, " +
                                               std::to_string(config_.max_memory_mib) + " MiB)")
          .with("stage", "shoot");
    }
    if (cancelled != nullptr && cancelled->load()) {
      return make_error(Errc::unavailable, "the shoot was cancelled while it waited for a clone (its caller hung up)")
          .with("stage", "shoot");
    }
    if (!std::exchange(counted_wait, true)) t.waits++;
    // Cancellation is polled, as at the admission gate: a waiter looks at it every 100 ms.
    changed_.wait_until(lock, std::min(give_up, Clock::now() + std::chrono::milliseconds(100)));
  }
  auto started = Clock::now();
  auto vm = ShootVm::restore(runner_, template_dir(tier), clone_name);
  lock.lock();
  t.restoring--;
  if (vm) {
    if (auto changed = vmm_changed(t)) vm = std::move(*changed);  // the clone goes with the Result
  }
  if (!vm) {
    restore_failed(t, vm.error());
    lock.unlock();
    changed_.notify_all();
    return std::move(vm).error();
  }
  t.restores++;
  t.in_use++;
  t.served++;
  lock.unlock();
  changed_.notify_all();
  return ShootLease(this, tier, std::move(*vm), since(started));
}

void ShootPool::refill_loop() {
  // Templates first (kept ones reused), one tier after the other.
  for (auto& tc : config_.tiers) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    settle_template(tc.tier, false);
  }
  std::unique_lock lock(mu_);
  for (;;) {
    // A suspect template is rebuilt first; else the first tier below its ready count that fits
    // the caps gets one clone.
    Tier* want = nullptr;
    Tier* suspect = nullptr;
    changed_.wait(lock, [&] {
      if (stopping_) return true;
      for (auto& [name, t] : tiers_) {
        if (t.rebuild && t.restoring == 0) {
          suspect = &t;
          return true;
        }
      }
      for (auto& [name, t] : tiers_) {
        if (t.template_ready && t.ready.size() + t.restoring < t.config.ready && fits(t)) {
          want = &t;
          return true;
        }
      }
      return false;
    });
    if (stopping_) return;
    if (suspect != nullptr) {
      const ShootTier tier = suspect->config.tier;
      lock.unlock();
      settle_template(tier, true);
      lock.lock();
      tiers_[tier.name].rebuild = false;
      changed_.notify_all();
      continue;
    }
    const std::string tier = want->config.tier.name;
    const std::string name = next_name(tier);
    want->restoring++;
    lock.unlock();
    auto vm = ShootVm::restore(runner_, template_dir(tier), name);
    lock.lock();
    Tier& t = tiers_[tier];
    t.restoring--;
    changed_.notify_all();  // a take waiting at the caps looks again, whatever the outcome
    if (vm) {
      if (auto changed = vmm_changed(t)) vm = std::move(*changed);
    }
    if (!vm) {
      log::warn("shoot.refill.failed", {{"tier", tier}, {"error", vm.error().describe()}});
      restore_failed(t, vm.error());
      if (t.rebuild || !t.template_ready) continue;  // the template is the cause: no wait
      // Not in a tight loop: the next return or request wakes the refill again.
      changed_.wait_for(lock, std::chrono::seconds(5), [&] { return stopping_; });
      continue;
    }
    t.restores++;
    if (stopping_) {
      lock.unlock();
      vm->reset();
      return;
    }
    t.ready.push_back(std::move(*vm));
    changed_.notify_all();
  }
}

std::vector<ShootTierStats> ShootPool::stats() const {
  std::lock_guard lock(mu_);
  std::vector<ShootTierStats> out;
  for (const auto& tc : config_.tiers) {
    const Tier& t = tiers_.at(tc.tier.name);
    ShootTierStats st;
    st.tier = tc.tier.name;
    st.vcpus = tc.tier.vcpus;
    st.memory_mib = tc.tier.memory_mib;
    st.target = tc.ready;
    st.template_ready = t.template_ready;
    st.template_error = t.template_error;
    st.template_origin = t.origin;
    st.template_builds = t.builds;
    st.ready = static_cast<unsigned>(t.ready.size());
    st.restoring = t.restoring;
    st.waits = t.waits;
    st.in_use = t.in_use;
    st.restores = t.restores;
    st.served = t.served;
    out.push_back(std::move(st));
  }
  return out;
}

ShootPoolTotals ShootPool::totals() const {
  std::lock_guard lock(mu_);
  return {vms_locked(), config_.max_vms, memory_locked(), config_.max_memory_mib};
}

bool ShootPool::wait_filled(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] {
    for (const auto& [name, t] : tiers_) {
      bool built = t.template_ready || !t.template_error.empty();
      if (!built || t.restoring > 0) return false;
      if (t.template_ready && t.ready.size() < t.config.ready && fits(t)) return false;
    }
    return true;
  });
}

}  // namespace seed::vmm::shoot
