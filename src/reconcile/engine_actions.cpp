// The executor: applies a plan's actions one instance at a time, journaling each before and
// after. Every action is idempotent (a restarted seedd re-plans from what it observes and may
// repeat one). When an instance's actions fail, what they started is undone in reverse, the
// first error is kept, and the last healthy generation is brought back if it was stopped;
// a generation that never became healthy is quarantined.
// Assembling a slot (start_vm) is in engine_start_vm.cpp.
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/log.hpp"
#include "common/reverter.hpp"
#include "reconcile/clock.hpp"
#include "reconcile/engine.hpp"
#include "common/metrics.hpp"
#include "reconcile/health_check.hpp"
#include "reconcile/live_instance.hpp"
#include "reconcile/slot_names.hpp"
#include "reconcile/slot_record.hpp"
#include "vmm/console/console_log.hpp"

namespace seed::reconcile {
namespace fs = std::filesystem;

void Engine::after_action() {
  ++actions_done_;
  if (config_.fault_after_actions != 0 && actions_done_ >= config_.fault_after_actions) {
    log::warn("fault.injected", {{"after_actions", actions_done_}});
    ::_exit(99);  // as abrupt as kill -9: no destructors, no cleanup
  }
}

Status Engine::apply(const Plan& plan, const ProgressFn& progress) {
  if (plan.actions.empty()) return {};
  int64_t plan_no = 0;
  {
    std::lock_guard db(store_mu_);
    plan_no = SEED_TRY(store_->next_plan_number());
  }
  std::optional<Error> first;
  size_t i = 0;
  while (i < plan.actions.size()) {
    size_t j = i;
    while (j < plan.actions.size() && plan.actions[j].id == plan.actions[i].id) ++j;
    std::vector<Action> group(plan.actions.begin() + static_cast<long>(i), plan.actions.begin() + static_cast<long>(j));
    if (auto s = apply_instance(plan_no, group, progress); !s && !first) first = s.error();
    i = j;
  }
  {
    std::lock_guard db(store_mu_);
    (void)store_->prune_journal(10'000);
  }
  if (first) return *first;
  return {};
}

Status Engine::apply_instance(int64_t plan_no, const std::vector<Action>& actions, const ProgressFn& progress) {
  const InstanceId id = actions.front().id;
  {
    std::lock_guard lock(state_mu_);
    Live& live = live_[id];
    live.id = id;
    for (const auto& d : desired_[id.ns]) {
      if (d.plan.id == id) live.source = d.source;
    }
    live.starting = true;
  }
  // One failure path, whichever step fails (an action, or the journal write around it): the
  // loop only breaks, never returns, and what the plan started is undone below.
  Reverter undo;  // stops the VMs this plan started, newest first
  std::optional<Error> failed;
  std::string failed_generation;
  for (const auto& a : actions) {
    failed_generation = a.generation;
    Result<int64_t> entry = journal_begin(plan_no, a);
    if (!entry) {
      failed = std::move(entry).error();
      break;
    }
    log::info("action.start", {{"action", describe(a)}});
    Status s = act(a, progress);
    // Registered as soon as the VM runs: a journal write failing next must not leak it.
    if (s && a.kind == ActionKind::start_vm) {
      undo.add([this, id, generation = a.generation] {
        if (auto st = stop_vm(id, generation); !st) {
          log::warn("undo.failed", {{"instance", id.str()}, {"error", st.error().describe()}});
        }
      });
    }
    Status ended = journal_end(*entry, s);
    after_action();
    if (!s) {
      failed = s.error();
      log::warn("action.failed", {{"action", describe(a)}, {"error", s.error().describe()}});
      break;
    }
    if (!ended) {
      failed = ended.error();
      break;
    }
  }
  if (failed) {
    undo.revert();  // keep the first error
    (void)roll_back(id, failed_generation, *failed, progress);
  } else {
    undo.success();
  }
  std::lock_guard lock(state_mu_);
  if (auto it = live_.find(id); it != live_.end()) {
    it->second.starting = false;
    if (it->second.slots.empty() && !it->second.last_good && !failed) live_.erase(it);
  }
  if (failed) return *failed;
  return {};
}

Result<int64_t> Engine::journal_begin(int64_t plan_no, const Action& a) {
  std::lock_guard db(store_mu_);
  auto entry = store_->journal_begin(plan_no, a, unix_now());
  if (!entry) return std::move(entry).error().with("stage", "state").with("action", describe(a));
  return entry;
}

Status Engine::journal_end(int64_t entry, const Status& outcome) {
  std::lock_guard db(store_mu_);
  auto s = store_->journal_end(entry, outcome ? JournalState::done : JournalState::failed,
                               outcome ? "" : outcome.error().describe(), unix_now());
  if (!s) return std::move(s).error().with("stage", "state");
  return {};
}

Status Engine::act(const Action& a, const ProgressFn& progress) {
  switch (a.kind) {
    case ActionKind::ensure_tap: {
      SEED_TRY(parts_.network->ensure_instance_link(slot_net_id(a.id, 'a')));
      SEED_TRY(parts_.network->allocate_address(slot_net_id(a.id, 'a')));
      return {};
    }
    case ActionKind::create_volume: return ensure_volume(a.id, a.volume, a.size, false);
    case ActionKind::grow_volume: return ensure_volume(a.id, a.volume, a.size, true);
    case ActionKind::start_tpm:  // retired (plan_types.hpp): nothing to do
    case ActionKind::stop_tpm: return {};
    case ActionKind::start_vm:
      if (progress) progress({"boot", "starting " + a.id.name});
      return start_vm(a.id, a.generation);
    case ActionKind::await_healthy:
      SEED_TRY(healthy(a.id, a.generation));
      if (progress) progress({"healthy", a.id.name + " is healthy"});
      return {};
    case ActionKind::route: {
      {
        std::lock_guard lock(state_mu_);
        Live& live = live_[a.id];
        for (auto& s : live.slots) {
          s.routed = s.generation == a.generation;
          SEED_TRY(save_slot_record(config_.state_dir, record_of(live, s)));
        }
        // A new generation starts with a clean slate; the same one coming back after a crash
        // keeps its streak (supervise_once ends it once a run lasts crash_window).
        const bool new_generation = !live.last_good || live.last_good->plan.generation != a.generation;
        if (Slot* s = slot_of(live, a.generation)) {
          live.last_good = DesiredFull{{a.id, s->generation, s->toplevel, s->meta.rollout, {}}, s->meta, live.source};
        }
        if (new_generation) live.crashes = 0;
        live.restart_after.reset();
        live.failure.reset();
      }
      {
        std::lock_guard db(store_mu_);
        (void)store_->clear_failure(a.id.str());
      }
      return publish_routes();
    }
    case ActionKind::unroute: {
      {
        std::lock_guard lock(state_mu_);
        Live& live = live_[a.id];
        for (auto& s : live.slots) {
          s.routed = false;
          SEED_TRY(save_slot_record(config_.state_dir, record_of(live, s)));
        }
      }
      {
        // The instance is going away: its public ports are free for whoever asks next.
        std::lock_guard db(store_mu_);
        SEED_TRY(store_->release_ports(a.id));
      }
      return publish_routes();
    }
    case ActionKind::stop_vm: return stop_vm(a.id, a.generation);
    case ActionKind::remove_tap: {
      for (char letter : {'a', 'b'}) {
        SEED_TRY(parts_.network->remove_instance_link(slot_net_id(a.id, letter)));
        SEED_TRY(parts_.network->release_address(slot_net_id(a.id, letter)));
      }
      {
        std::lock_guard db(store_mu_);
        SEED_TRY(store_->release_ports(a.id));  // also when it was never routed (no unroute)
      }
      std::lock_guard lock(state_mu_);
      if (auto it = live_.find(a.id); it != live_.end() && it->second.slots.empty()) it->second.last_good.reset();
      return {};
    }
  }
  return make_error(Errc::internal, "unknown action " + describe(a));
}

Status Engine::ensure_volume(const InstanceId& id, const std::string& volume, uint64_t size, bool grow) {
  const storage::VolumeId vid{id.ns, id.name, volume};
  if (grow) return parts_.volumes->grow(vid, size);
  auto exists = SEED_TRY(parts_.volumes->exists(vid));
  if (exists) return {};  // idempotent: a crash after create, before the journal said done
  return parts_.volumes->create(vid, size);
}

Status Engine::stop_vm(const InstanceId& id, const std::string& generation) {
  std::unique_ptr<vmm::RunningVm> vm;
  std::optional<tpm::RunningVtpm> vtpm;
  char letter = 0;
  {
    std::lock_guard lock(state_mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return {};
    Slot* s = slot_of(it->second, generation);
    if (s == nullptr) return {};  // idempotent
    vm = std::move(s->vm);
    vtpm = std::move(s->tpm);
    letter = s->letter;
  }
  Status first;
  if (vm) first = vm->stop(config_.stop_grace);
  if (vtpm) vtpm->stop();
  if (auto s = remove_slot_record(config_.state_dir, id, letter); !s && first) first = s;
  std::error_code ec;
  fs::remove(config_.state_dir + "/gcroots/" + slot_vm_name(id, letter), ec);  // nix drops the stale root
  fs::remove_all(seed_share_dir(config_.runtime_dir, id, letter), ec);
  if (letter != 'a') {
    // The overlap slot's tap and address are only for the length of a rolling deploy.
    if (auto s = parts_.network->remove_instance_link(slot_net_id(id, letter)); !s && first) first = s;
    if (auto s = parts_.network->release_address(slot_net_id(id, letter)); !s && first) first = s;
  }
  std::unique_lock lock(state_mu_);
  auto it = live_.find(id);
  if (it != live_.end()) {
    auto& slots = it->second.slots;
    slots.erase(std::remove_if(slots.begin(), slots.end(), [&](const Slot& s) { return s.letter == letter; }),
                slots.end());
  }
  lock.unlock();
  // The stopped slot's firewall entry (its port chain) goes now, not at the next route change.
  if (auto s = publish_routes(); !s && first) first = s;
  return first;
}

Status Engine::healthy(const InstanceId& id, const std::string& generation) {
  HealthTarget t;
  InstanceMeta meta;
  std::string vm_name;
  {
    std::lock_guard lock(state_mu_);
    Slot* s = slot_of(live_[id], generation);
    if (s == nullptr || !s->vm) {
      return make_error(Errc::not_found, "generation " + generation + " of " + id.str() + " is not running")
          .with("stage", "boot");
    }
    meta = s->meta;
    vm_name = s->vm_name;
    t.agent_socket = s->vm->paths().agent_socket();
    t.ipv4 = s->ipv4;
  }
  t.meta = &meta;
  const auto timeout = meta.health ? std::chrono::seconds(meta.health->timeout_s) : config_.default_health_timeout;
  t.deadline = std::chrono::steady_clock::now() + timeout;
  t.still_running = [&]() -> Status {
    std::lock_guard lock(state_mu_);
    Slot* s = slot_of(live_[id], generation);
    if (s != nullptr && s->vm) return {};
    return make_error(Errc::process_failed, "the VM of " + id.str() + " exited while booting: " +
                                                (s ? s->exit_report : std::string("gone")))
        .with("stage", "boot");
  };
  const auto health_started = std::chrono::steady_clock::now();
  auto result = await_healthy(t);
  // From the VM's start (just before this) to healthy: boot plus the health check.
  static auto& ok_seconds = metrics::global().histogram(
      "seed_boot_to_healthy_seconds", "Time from a VM's start until its health check passed or gave up.",
      {{"outcome", "healthy"}});
  static auto& failed_seconds = metrics::global().histogram(
      "seed_boot_to_healthy_seconds", "Time from a VM's start until its health check passed or gave up.",
      {{"outcome", "failed"}});
  (result ? ok_seconds : failed_seconds)
      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - health_started).count());
  if (!result) {
    // What the guest printed is usually the answer to "why": keep its tail with the error.
    std::string console_log;
    {
      std::lock_guard lock(state_mu_);
      if (Slot* s = slot_of(live_[id], generation); s && s->vm) console_log = s->vm->paths().console_log();
    }
    if (!console_log.empty()) {
      if (auto tail = vmm::console_tail(console_log, 15)) {
        std::string text;
        for (const auto& line : *tail) text += line + "\n";
        return std::move(result).error().with("console", text);
      }
    }
  }
  return result;
}

Status Engine::roll_back(const InstanceId& id, const std::string& failed_generation, const Error& why,
                         const ProgressFn& progress) {
  std::optional<DesiredFull> good;
  std::string failed_toplevel;
  bool good_running = false;
  {
    std::lock_guard lock(state_mu_);
    Live& live = live_[id];
    good = live.last_good;
    for (const auto& d : desired_[id.ns]) {
      if (d.plan.id == id && d.plan.generation == failed_generation) failed_toplevel = d.plan.toplevel;
    }
    if (good) {
      if (Slot* s = slot_of(live, good->plan.generation)) good_running = s->vm != nullptr;
    }
  }
  const Failure failure{why.get("stage") ? std::string(*why.get("stage")) : "boot", why.message, unix_now()};
  auto record_failure = [&] {
    {
      std::lock_guard lock(state_mu_);
      live_[id].failure = failure;
    }
    std::lock_guard db(store_mu_);
    (void)store_->set_failure(id.str(), failure);
  };
  {
    std::lock_guard db(store_mu_);
    const auto stage = why.get("stage");
    // A restart of the last healthy generation that fails is a runtime problem, not a bad
    // closure: only a new generation is quarantined.
    const bool new_generation = !good || good->plan.generation != failed_generation;
    if (new_generation && !failed_toplevel.empty() && stage && (*stage == "health" || *stage == "boot")) {
      (void)store_->quarantine({failed_toplevel, id.str(), why.message, unix_now() + config_.quarantine_for.count()});
      log::warn("quarantined", {{"instance", id.str()}, {"toplevel", failed_toplevel}});
    }
  }
  if (!good || good->plan.generation == failed_generation) {
    record_failure();
    return {};
  }
  if (progress) progress({"boot", "rolling " + id.name + " back to generation " + good->plan.generation});
  Status back;
  if (!good_running) {
    back = start_vm(id, good->plan.generation);
    if (back) back = healthy(id, good->plan.generation);
    if (!back) (void)stop_vm(id, good->plan.generation);
  }
  if (back) back = act({ActionKind::route, id, good->plan.generation, "", 0}, nullptr);
  record_failure();  // after the route, which clears failures: the failed deploy stays visible
  return back;
}

}  // namespace seed::reconcile
