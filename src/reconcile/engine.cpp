// Engine lifecycle: opening, adoption of an earlier seedd's VMs, the worker (queued deploys,
// periodic resync) and the supervisor (VM exits, backoff).
#include "reconcile/clock.hpp"
#include "reconcile/engine.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "reconcile/slot_names.hpp"
#include "reconcile/slot_record.hpp"

namespace seed::reconcile {

Engine::Engine(EngineConfig config, EngineParts parts, std::unique_ptr<StateStore> store, UniqueFd cancel)
    : config_(std::move(config)),
      cancel_(std::move(cancel)),
      parts_(std::move(parts)),
      nix_(parts_.nix),
      store_(std::move(store)) {
  runner_ = std::make_unique<vmm::VmRunner>(*parts_.vm_driver, parts_.runner);
}

Engine::~Engine() {
  shutdown();
  shoot_pool_.reset();  // its refill thread, its ready clones: every shoot has ended by now
}

Result<std::unique_ptr<Engine>> Engine::open(EngineConfig config, EngineParts parts) {
  if (!parts.network || !parts.volumes || !parts.tpms || !parts.vm_driver) {
    return make_error(Errc::invalid_argument, "the engine needs a network, a volume driver, a TPM manager and a VM driver")
        .with("stage", "start");
  }
  if (config.silo_root.empty()) config.silo_root = config.state_dir + "/silo";
  auto store = SEED_TRY(StateStore::open(config.state_dir + "/state.db"));
  UniqueFd cancel(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!cancel) return errno_error("eventfd", errno).with("stage", "start");
  parts.nix.cancel_fd = cancel.get();
  return std::unique_ptr<Engine>(new Engine(std::move(config), std::move(parts), std::move(store), std::move(cancel)));
}

Status Engine::start() {
  SEED_TRY(parts_.network->ensure_bridge());
  {
    std::lock_guard lock(deploy_mu_);
    SEED_TRY(adopt_all());
    // Actions cut off by a crash: every action is idempotent and the plan is recomputed from
    // what is observed now, so they are only closed, not replayed.
    std::lock_guard db(store_mu_);
    auto unfinished = SEED_TRY(store_->unfinished());
    for (const auto& e : unfinished) {
      log::warn("journal.interrupted", {{"action", describe(e.action)}, {"plan", e.plan}});
      SEED_TRY(store_->journal_end(e.id, JournalState::failed, "interrupted by a seedd restart", unix_now()));
    }
  }
  SEED_TRY(publish_routes());
  start_shoots();
  {
    std::lock_guard lock(state_mu_);
    std::lock_guard db(store_mu_);
    for (const auto& s : SEED_TRY(store_->sources())) queued_full_.emplace(s.canonical, "start");
    stopping_ = false;
  }
  supervisor_ = std::thread([this] { supervise_loop(); });
  worker_ = std::thread([this] { worker_loop(); });
  return {};
}

void Engine::shutdown() {
  {
    std::lock_guard lock(state_mu_);
    stopping_ = true;
  }
  if (cancel_) {
    uint64_t one = 1;
    (void)!::write(cancel_.get(), &one, sizeof one);  // a deploy in nix returns now
  }
  wake_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  if (worker_.joinable()) worker_.join();
}

Status Engine::adopt_all() {
  std::vector<Error> problems;
  auto records = load_slot_records(config_.state_dir, problems);
  for (const auto& p : problems) log::warn("slot.unreadable", {{"error", p.describe()}});
  for (auto& r : records) {
    auto meta = parse_instance_meta(r.meta, r.id.name, r.source);
    auto vm = runner_->adopt(r.vm_name);
    std::optional<tpm::RunningVtpm> vtpm;
    if (r.swtpm) {
      auto t = parts_.tpms->adopt(slot_tpm_key(r.id, r.letter), *r.swtpm);
      if (t) vtpm.emplace(std::move(*t));
    }
    if (!vm || !meta) {
      // The VM died while seedd was away (its leftovers are cleaned by adopt) or the record
      // is from an incompatible seedd: forget the slot; the next plan starts what is missing.
      // A VM still running under a record we cannot use is stopped: it holds the slot's tap.
      log::warn("vm.adopt.gone", {{"vm", r.vm_name}, {"error", !vm ? vm.error().describe() : meta.error().describe()}});
      if (vm) (void)(*vm)->stop(config_.stop_grace);
      if (vtpm) vtpm->stop();
      (void)remove_slot_record(config_.state_dir, r.id, r.letter);
      continue;
    }
    Slot slot;
    slot.letter = r.letter;
    slot.generation = r.generation;
    slot.toplevel = r.toplevel;
    slot.meta = std::move(*meta);
    slot.vm_name = r.vm_name;
    slot.vm = std::move(*vm);
    slot.tpm = std::move(vtpm);
    slot.ipv4 = r.ipv4;
    slot.ipv6 = r.ipv6;
    slot.started_at = r.started_at;
    slot.routed = r.routed;
    std::lock_guard lock(state_mu_);
    Live& live = live_[r.id];
    live.id = r.id;
    live.source = r.source;
    if (slot.routed) live.last_good = DesiredFull{{r.id, r.generation, r.toplevel, slot.meta.rollout, {}}, slot.meta, r.source};
    live.slots.push_back(std::move(slot));
    log::info("vm.adopted", {{"instance", r.id.str()}, {"vm", r.vm_name}, {"generation", r.generation}});
  }
  end_strays();
  return {};
}

// The crash safety rule (docs/reconcile.md): a kill -9 can fall between a spawn and the record
// that names the process. Every VMM, virtiofsd, console logger and swtpm carries its seedd's
// owner mark, so once the records are adopted, every marked process no adopted slot owns is
// one an earlier seedd never recorded (or one whose record was just dropped) and is ended:
// nothing is left holding a tap, a vTPM lock or a socket the next start needs. (VMs are kept
// by their own records, vm.json, which also name VMs started outside the engine.)
void Engine::end_strays() {
  std::set<pid_t> tpm_pids;
  {
    std::lock_guard lock(state_mu_);
    for (const auto& [id, live] : live_) {
      for (const auto& slot : live.slots) {
        if (slot.tpm) tpm_pids.insert(slot.tpm->record().pid);
      }
    }
  }
  (void)runner_->end_strays();
  (void)parts_.tpms->end_strays(tpm_pids);
}

void Engine::worker_loop() {
  auto next_resync = std::chrono::steady_clock::now() + config_.resync_interval;
  for (;;) {
    std::string full, because, replan;
    {
      std::unique_lock lock(state_mu_);
      wake_.wait_until(lock, next_resync, [&] { return stopping_ || !queued_full_.empty() || !queued_replan_.empty(); });
      if (stopping_) return;
      if (std::chrono::steady_clock::now() >= next_resync) {
        std::lock_guard db(store_mu_);
        if (auto sources = store_->sources()) {
          for (const auto& s : *sources) queued_full_.emplace(s.canonical, "poll");
        }
        next_resync = std::chrono::steady_clock::now() + config_.resync_interval;
      }
      if (!queued_full_.empty()) {
        full = queued_full_.begin()->first;
        because = queued_full_.begin()->second;
        queued_full_.erase(queued_full_.begin());
      } else if (!queued_replan_.empty()) {
        replan = *queued_replan_.begin();
        queued_replan_.erase(queued_replan_.begin());
      } else {
        continue;
      }
    }
    if (!full.empty()) {
      std::lock_guard lock(deploy_mu_);
      // Looked up under the deploy lock: an unplant that ran while this waited for it has the
      // last word (deploying the source now would start its instances again).
      auto source = source_of(full);
      if (!source) continue;  // unplanted meanwhile
      if (auto s = deploy(*source, because, nullptr); !s) log::warn("deploy.failed", {{"source", full}, {"error", s.error().describe()}});
    } else {
      std::lock_guard lock(deploy_mu_);
      if (auto s = converge(replan, nullptr); !s) log::warn("converge.failed", {{"namespace", replan}, {"error", s.error().describe()}});
    }
  }
}

void Engine::supervise_loop() {
  for (;;) {
    {
      std::unique_lock lock(state_mu_);
      wake_.wait_for(lock, config_.supervise_interval, [&] { return stopping_; });
      if (stopping_) return;
    }
    supervise_once();
  }
}

// Reaps VMs that exited on their own, schedules their restart after a backoff, and queues a
// re-plan of namespaces whose backoff is over.
void Engine::supervise_once() {
  std::lock_guard lock(state_mu_);
  const auto now = std::chrono::system_clock::now();
  bool queued = false;
  for (auto& [id, live] : live_) {
    for (auto& slot : live.slots) {
      if (!slot.vm) continue;
      pollfd p{slot.vm->vmm().pidfd(), POLLIN, 0};
      if (p.fd < 0 || ::poll(&p, 1, 0) != 1) continue;
      auto exit = slot.vm->wait_exit(std::chrono::milliseconds(0));
      if (!exit) continue;
      slot.exit_report = exit->report.describe();
      slot.vm.reset();
      if (slot.tpm) {
        slot.tpm->stop();
        slot.tpm.reset();
      }
      if (live.starting) continue;  // the deploy in flight notices and rolls back
      const bool ran_long = slot.started_at != 0 && unix_now() - slot.started_at >= config_.crash_window.count();
      live.crashes = ran_long ? 1 : live.crashes + 1;
      static auto& exits = metrics::global().counter("seed_vm_unexpected_exits_total",
                                                     "VMs that exited without being stopped (crashes, guest poweroffs).");
      exits.inc();
      const auto backoff = std::min<std::chrono::seconds>(config_.backoff_max,
                                                          config_.backoff_base * (1u << std::min(live.crashes - 1, 16u)));
      live.restart_after = now + backoff;
      log::warn("vm.exited", {{"instance", id.str()}, {"generation", slot.generation}, {"crashes", live.crashes},
                              {"restart_in_s", backoff.count()}, {"report", slot.exit_report}});
      if (live.crashes >= config_.max_crashes) {
        live.failure = Failure{"runtime", "crashed " + std::to_string(live.crashes) +
                                              " times in a row; not restarted until a push or `restart`. Last report: " +
                                              slot.exit_report,
                               unix_now()};
      }
    }
    if (live.restart_after && *live.restart_after <= now && live.crashes < config_.max_crashes) {
      queued_replan_.insert(id.ns);  // the executor clears restart_after when it restarts it
      static auto& restarts = metrics::global().counter("seed_vm_restarts_total",
                                                        "Restarts the supervisor queued after a VM exited.");
      restarts.inc();
      queued = true;
    }
  }
  if (queued) wake_.notify_all();
}

pid_t Engine::vm_pid(const InstanceId& id) {
  std::lock_guard lock(state_mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return 0;
  for (auto& s : it->second.slots) {
    if (s.vm && s.routed) return s.vm->vmm().pid();
  }
  for (auto& s : it->second.slots) {
    if (s.vm) return s.vm->vmm().pid();
  }
  return 0;
}

}  // namespace seed::reconcile
