// The executor: applies a plan's actions one instance at a time, journaling each before and
// after. Every action is idempotent (a restarted seedd re-plans from what it observes and may
// repeat one). When an instance's actions fail, what they started is undone in reverse, the
// first error is kept, and the last healthy generation is brought back if it was stopped;
// a generation that never became healthy is quarantined.
#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/reverter.hpp"
#include "reconcile/clock.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/guest_setup.hpp"
#include "reconcile/health_check.hpp"
#include "reconcile/slot_names.hpp"
#include "reconcile/slot_record.hpp"
#include "vmm/console/console_log.hpp"

namespace seed::reconcile {
namespace fs = std::filesystem;

namespace {


Slot* slot_of(Live& live, const std::string& generation) {
  for (auto& s : live.slots) {
    if (s.generation == generation) return &s;
  }
  return nullptr;
}

// The `seed` share of a slot: runtime files, rewritten on every start, removed on stop.
std::string seed_share_dir(const std::string& runtime_dir, const InstanceId& id, char letter) {
  return instance_dir(runtime_dir, id) + "/seed-" + std::string(1, letter);
}

SlotRecord record_of(const Live& live, const Slot& s) {
  SlotRecord r;
  r.id = live.id;
  r.letter = s.letter;
  r.source = live.source;
  r.generation = s.generation;
  r.toplevel = s.toplevel;
  r.meta = s.meta.raw;
  r.vm_name = s.vm_name;
  if (s.tpm) r.swtpm = s.tpm->record();
  r.ipv4 = s.ipv4;
  r.ipv6 = s.ipv6;
  r.started_at = s.started_at;
  r.routed = s.routed;
  return r;
}

// Copies a directory's contents over another's (the TPM state a new slot starts from).
Status copy_tree(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(fs::path(to).parent_path(), ec);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return make_error(Errc::io, "cannot copy " + from + " to " + to + ": " + ec.message()).with("stage", "tpm");
  return {};
}

}  // namespace

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
  std::vector<std::string> started;  // generations this plan started, for the undo
  std::optional<Error> failed;
  std::string failed_generation;
  for (const auto& a : actions) {
    int64_t entry = 0;
    {
      std::lock_guard db(store_mu_);
      entry = SEED_TRY(store_->journal_begin(plan_no, a, unix_now()));
    }
    log::info("action.start", {{"action", describe(a)}});
    Status s = act(a, progress);
    {
      std::lock_guard db(store_mu_);
      SEED_TRY(store_->journal_end(entry, s ? JournalState::done : JournalState::failed, s ? "" : s.error().describe(),
                                   unix_now()));
    }
    after_action();
    if (!s) {
      failed = s.error();
      failed_generation = a.generation;
      log::warn("action.failed", {{"action", describe(a)}, {"error", s.error().describe()}});
      break;
    }
    if (a.kind == ActionKind::start_vm) started.push_back(a.generation);
  }
  if (failed) {
    // Undo: stop what this plan started, newest first; keep the first error.
    for (auto it = started.rbegin(); it != started.rend(); ++it) {
      if (auto s = stop_vm(id, *it); !s) log::warn("undo.failed", {{"instance", id.str()}, {"error", s.error().describe()}});
    }
    (void)roll_back(id, failed_generation, *failed, progress);
  }
  std::lock_guard lock(state_mu_);
  if (auto it = live_.find(id); it != live_.end()) {
    it->second.starting = false;
    if (it->second.slots.empty() && !it->second.last_good && !failed) live_.erase(it);
  }
  if (failed) return *failed;
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
    case ActionKind::start_tpm: return {};  // each slot's swtpm starts with its VM (start_vm)
    case ActionKind::stop_tpm: return {};   // and stops with it (stop_vm)
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

Status Engine::start_vm(const InstanceId& id, const std::string& generation) {
  // What to run: the desired generation, or the last healthy one (a rollback).
  std::optional<DesiredFull> want;
  char letter = 'a';
  std::optional<char> sibling;
  {
    std::lock_guard lock(state_mu_);
    for (const auto& d : desired_[id.ns]) {
      if (d.plan.id == id && d.plan.generation == generation) want = d;
    }
    Live& live = live_[id];
    if (!want && live.last_good && live.last_good->plan.generation == generation) want = live.last_good;
    if (slot_of(live, generation) && slot_of(live, generation)->vm) return {};  // already running
    std::set<char> used;
    for (const auto& s : live.slots) used.insert(s.letter);
    letter = used.count('a') ? 'b' : 'a';
    if (used.count('a') && used.count('b')) {
      return make_error(Errc::internal, id.str() + " already has two VMs; cannot start a third").with("stage", "boot");
    }
    for (const auto& s : live.slots) {
      if (s.tpm) sibling = s.letter;
    }
  }
  if (!want) {
    return make_error(Errc::internal, "no instance definition for generation " + generation + " of " + id.str())
        .with("stage", "boot");
  }
  const net::InstanceId nid = slot_net_id(id, letter);
  Reverter undo;
  auto link = SEED_TRY(parts_.network->ensure_instance_link(nid));
  if (letter != 'a') {
    // The overlap slot's link exists only while its VM does (slot a's stays with the instance).
    undo.add([&] {
      (void)parts_.network->remove_instance_link(nid);
      (void)parts_.network->release_address(nid);
    });
  }
  auto address = SEED_TRY(parts_.network->allocate_address(nid));
  const auto& pool = parts_.network->pool_config();

  GuestInputs in;
  in.id = id;
  in.vm_name = slot_vm_name(id, letter);
  in.generation = generation;
  in.toplevel = want->plan.toplevel;
  in.meta = want->meta;
  in.domain = config_.domain;
  in.tap = link.tap;
  in.mac = link.mac.str();
  in.ipv4_cidr = address.ipv4.str() + "/" + std::to_string(pool.subnet.length);
  in.gateway4 = pool.gateway.str();
  if (address.ipv6 && pool.subnet6 && pool.gateway6) {
    in.ipv6_cidr = address.ipv6->str() + "/" + std::to_string(pool.subnet6->length);
    in.gateway6 = pool.gateway6->str();
  }
  in.nameserver = pool.gateway.str();
  in.seed_share = seed_share_dir(config_.runtime_dir, id, letter);
  for (const auto& [vol, v] : want->meta.storage) {
    in.volume_paths[vol] = SEED_TRY(parts_.volumes->mount({id.ns, id.name, vol}));
  }

  std::optional<tpm::RunningVtpm> vtpm;
  const std::string idir = instance_dir(config_.state_dir, id);
  if (config_.with_tpm) {
    // One TPM identity per instance: a new slot starts from the state of the slot that ran
    // last (copied; swtpm serves one VM at a time), so the age key survives every deploy.
    std::string current = sibling ? std::string(1, *sibling) : "";
    if (current.empty()) {
      if (auto c = read_file(idir + "/tpm-current")) current = *c;
    }
    auto mine = SEED_TRY(parts_.tpms->paths(slot_tpm_key(id, letter)));
    if (!current.empty() && current[0] != letter) {
      auto theirs = SEED_TRY(parts_.tpms->paths(slot_tpm_key(id, current[0])));
      if (fs::exists(theirs.dir)) SEED_TRY(copy_tree(theirs.dir, mine.dir));
    }
    vtpm.emplace(SEED_TRY(parts_.tpms->start(slot_tpm_key(id, letter))));
    undo.add([&] {
      if (vtpm) vtpm->stop();
    });
    std::error_code ec;
    fs::create_directories(idir + "/tpm-share", ec);
    SEED_TRY(write_file_atomic(idir + "/tpm-current", std::string(1, letter)));
    in.tpm_share = idir + "/tpm-share";
    in.tpm_socket = vtpm->ctrl_socket();
  }
  undo.add([&] {
    std::error_code ec;
    fs::remove_all(in.seed_share, ec);
  });
  SEED_TRY(write_seed_share(in));
  auto spec = SEED_TRY(guest_vm_spec(in));
  // The closure must outlive any garbage collection while the VM runs from it.
  const std::string gcroot = config_.state_dir + "/gcroots/" + in.vm_name;
  std::error_code mk;
  fs::create_directories(config_.state_dir + "/gcroots", mk);
  SEED_TRY(nix_.add_root(want->plan.toplevel, gcroot));
  undo.add([&] {
    std::error_code ec;
    fs::remove(gcroot, ec);
  });

  Slot slot;
  slot.letter = letter;
  slot.generation = generation;
  slot.toplevel = want->plan.toplevel;
  slot.meta = want->meta;
  slot.vm_name = in.vm_name;
  slot.ipv4 = address.ipv4.str();
  slot.ipv6 = address.ipv6 ? address.ipv6->str() : "";
  slot.started_at = unix_now();
  slot.tpm = std::move(vtpm);
  vtpm.reset();
  undo.add([&] {
    if (slot.tpm) slot.tpm->stop();
  });
  Live record_owner;
  record_owner.id = id;
  record_owner.source = want->source;
  // The record first: if seedd dies while the VMM starts, the next seedd finds and adopts
  // (or cleans up) this VM instead of leaking it.
  SEED_TRY(save_slot_record(config_.state_dir, record_of(record_owner, slot)));
  undo.add([&] { (void)remove_slot_record(config_.state_dir, id, letter); });
  auto vm = runner_->start(spec);
  if (!vm) return std::move(vm).error().with("instance", id.str()).with("generation", generation);
  slot.vm = std::move(*vm);
  undo.success();
  log::info("vm.started", {{"instance", id.str()}, {"generation", generation}, {"vm", slot.vm_name},
                           {"ipv4", slot.ipv4}});
  {
    std::lock_guard lock(state_mu_);
    Live& live = live_[id];
    live.restart_after.reset();
    live.slots.push_back(std::move(slot));
  }
  // The new slot's firewall entry (its tap may only send as its own address) before anything
  // talks to it; DNS and ingress keep pointing at the routed generation.
  return publish_routes();
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
  auto result = await_healthy(t);
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
