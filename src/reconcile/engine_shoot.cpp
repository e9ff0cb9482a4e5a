// Shoots (docs/shoots.md): the pool's start, and one shoot from admission to teardown.
#include <signal.h>

#include <thread>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/shoot_size.hpp"

namespace seed::reconcile {

namespace vs = vmm::shoot;
using Clock = std::chrono::steady_clock;

void Engine::start_shoots() {
  if (config_.shoots.pool.tiers.empty()) return;
  shoot_pool_ = std::make_unique<vs::ShootPool>(*runner_, config_.shoots.pool);
  // After adopt_all: the instances' VMs are adopted, so every shoot-* VM left is a leftover.
  for (const auto& vm : shoot_pool_->remove_leftovers()) log::warn("shoot.leftover", {{"vm", vm}});
  shoot_gate_ = std::make_unique<ShootGate>(config_.shoots.gate);
  shoot_pool_->start();
}

std::vector<vs::ShootTierStats> Engine::shoot_pool_stats() const {
  return shoot_pool_ ? shoot_pool_->stats() : std::vector<vs::ShootTierStats>{};
}

void Engine::count_shoot(const InstanceId& id, int delta) {
  std::lock_guard lock(state_mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return;  // removed while its shoot ran
  if (delta > 0) ++it->second.shoots_ran, ++it->second.shoots_running;
  else if (it->second.shoots_running > 0) --it->second.shoots_running;
}

Result<ShootPoolView> Engine::shoot_pool() {
  ShootPoolView view;
  if (!shoot_pool_) return view;
  view.enabled = true;
  auto totals = shoot_pool_->totals();
  view.vms = totals.vms;
  view.max_vms = totals.max_vms;
  view.memory_mib = totals.memory_mib;
  view.max_memory_mib = totals.max_memory_mib;
  view.queued = shoot_gate_->waiting();
  for (const auto& s : shoot_pool_->stats()) {
    ShootTierView t;
    t.name = s.tier;
    t.vcpus = s.vcpus;
    t.memory_mib = s.memory_mib;
    t.target = s.target;
    t.template_state = s.template_ready ? "ready" : s.template_error.empty() ? "building" : "failed";
    t.template_error = s.template_error;
    t.template_origin = vs::to_string(s.template_origin);
    t.ready = s.ready;
    t.restoring = s.restoring;
    t.running = s.in_use;
    t.restores = s.restores;
    t.served = s.served;
    t.waits = s.waits;
    view.tiers.push_back(std::move(t));
  }
  return view;
}

namespace {

Error bad(const std::string& message) {
  return make_error(Errc::invalid_argument, message).with("stage", "shoot");
}

// seed_shoots_total{outcome}: how each request ended. exited: the command ran to its end
// (any exit code); timed_out; cancelled: its caller hung up; invalid: a bad request (400);
// refused: the caps and queue were full, or the tier's template is not ready (429 with
// Retry-After); failed: anything else (a clone that did not restore or answer).
void count_outcome(const Result<ShootReply>& r, const std::atomic<bool>& cancelled) {
  std::string outcome = "failed";
  if (r.ok()) outcome = r->timed_out ? "timed_out" : "exited";
  else if (cancelled.load()) outcome = "cancelled";
  else if (r.error().code == Errc::invalid_argument) outcome = "invalid";
  else if (r.error().get("retry_after")) outcome = "refused";
  metrics::global()
      .counter("seed_shoots_total", "Shoot requests, by how they ended.", {{"outcome", outcome}})
      .inc();
}

// seed_shoot_phase_seconds{tier, phase}: seedd's own time per shoot, split as the benchmark
// splits it (restore is 0 for a clone taken ready from the pool).
void observe_phase(const std::string& tier, const char* phase, int64_t us) {
  metrics::global()
      .histogram("seed_shoot_phase_seconds", "seedd's time per shoot in each phase, by size tier.",
                 {{"tier", tier}, {"phase", phase}},
                 {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})
      .observe(static_cast<double>(us) / 1e6);
}

}  // namespace

Result<ShootReply> Engine::shoot(const InstanceId& caller, const ShootRequest& request,
                                 const std::atomic<bool>& cancelled) {
  auto r = run_shoot(caller, request, cancelled);
  count_outcome(r, cancelled);
  return r;
}

Result<ShootReply> Engine::run_shoot(const InstanceId& caller, const ShootRequest& request,
                                     const std::atomic<bool>& cancelled) {
  if (!shoot_pool_) {
    return make_error(Errc::unavailable, "shoots are off on this node").with("stage", "shoot")
        .with("hint", "the node owner enables them with services.seed.shoot (a pool tier)");
  }
  const auto& cfg = config_.shoots;
  if (request.timeout.count() <= 0) return bad("timeout must be at least 1 ms");
  if (request.timeout > cfg.max_timeout) {
    return bad("timeout " + std::to_string(request.timeout.count()) + " ms is beyond this node's cap of " +
               std::to_string(cfg.max_timeout.count()) + " ms");
  }
  if (request.stdin_data.size() > cfg.max_stdin) {
    return bad("stdin is larger than this node's cap of " + std::to_string(cfg.max_stdin) + " bytes");
  }
  vs::ShootCommand command;
  command.argv = request.command;
  command.env = request.env;
  command.stdin_data = request.stdin_data;
  command.cwd = request.cwd;
  command.timeout = request.timeout;
  command.output_cap = cfg.output_cap;
  if (request.on_output) {
    command.on_output = [&request](vs::ShootOutput which, std::string_view bytes) {
      request.on_output(which == vs::ShootOutput::err, bytes);
    };
  }
  if (auto st = vs::validate(command); !st) return std::move(st).error().with("stage", "shoot");

  // The caller's shares, from its running VM: the store read-only at /nix/store, each volume
  // read-write at its mount point. Nothing else of the host or of other instances.
  std::vector<vs::ShootMount> mounts;
  std::string tier;
  {
    std::lock_guard lock(state_mu_);
    auto it = live_.find(caller);
    const Slot* slot = nullptr;
    if (it != live_.end()) {
      for (const auto& s : it->second.slots) {
        if (s.vm && (slot == nullptr || s.routed)) slot = &s;
      }
    }
    if (slot == nullptr) return make_error(Errc::not_found, caller.str() + " is not running").with("stage", "shoot");
    if (!slot->meta.shoot) {
      return make_error(Errc::permission_denied, caller.str() + " has shoots off")
          .with("stage", "shoot")
          .with("hint", "set seed.shoot.enable = true in the instance's module and push");
    }
    auto picked = pick_shoot_tier(cfg.pool.tiers, request.size, slot->vm->spec().vcpus, slot->vm->spec().memory_mib);
    if (!picked) return std::move(picked).error().with("instance", caller.str());
    tier = *picked;
    for (const auto& share : slot->vm->spec().shares) {
      if (share.tag == "nix-store") mounts.push_back({{share.tag, share.host_path, true}, "/nix/store"});
      for (const auto& [name, v] : slot->meta.storage) {
        if (share.tag == v.share) mounts.push_back({{share.tag, share.host_path, false}, v.mount_point});
      }
    }
  }

  auto ticket = shoot_gate_->enter(caller.str(), &cancelled);
  if (!ticket) return std::move(ticket).error().with("stage", "shoot");
  auto started = Clock::now();
  auto lease = shoot_pool_->take(tier, &cancelled);
  if (!lease) return std::move(lease).error().with("stage", "shoot").with("retry_after", "1");
  vs::ShootVm& vm = lease->vm();
  // Counted for `status` from the clone taken to the shoot's end, whatever way it ends.
  count_shoot(caller, +1);
  struct Uncount {
    Engine& e;
    const InstanceId& id;
    ~Uncount() { e.count_shoot(id, -1); }
  } uncount{*this, caller};
  if (request.on_started) request.on_started();

  // A caller that hangs up ends its shoot: the watcher kills the clone's QEMU, which ends the
  // agent call below at once; the lease then removes what is left.
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done.load()) {
      if (cancelled.load()) {
        vm.kill();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  struct JoinWatcher {
    std::atomic<bool>& done;
    std::thread& t;
    ~JoinWatcher() { stop(); }
    void stop() {
      done = true;
      if (t.joinable()) t.join();
    }
  } join_watcher{done, watcher};

  auto t = Clock::now();
  auto us = [](Clock::time_point from) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - from).count();
  };
  if (auto st = vm.attach(mounts); !st) return std::move(st).error().with("instance", caller.str());
  auto attach_us = us(t);
  t = Clock::now();
  if (auto st = vm.prepare(vs::host_nonce()); !st) return std::move(st).error().with("instance", caller.str());
  auto prepare_us = us(t);
  t = Clock::now();
  auto ran = vm.run(command);
  auto exec_us = us(t);
  join_watcher.stop();  // before the clone goes: the watcher must not kill a destroyed VM
  ShootReply reply;
  if (!ran) {
    if (cancelled.load()) return make_error(Errc::unavailable, "the shoot was cancelled (its caller hung up)");
    return std::move(ran).error().with("stage", "shoot").with("instance", caller.str());
  }
  // A timed-out command keeps its output up to the deadline; the whole VM goes with the lease.
  reply.timed_out = ran->timed_out;
  reply.exit_code = ran->exit_code;
  reply.signal = ran->signal;
  reply.out = std::move(ran->out);
  reply.err = std::move(ran->err);
  reply.truncated = ran->truncated;
  auto teardown_us = lease->release().count();
  reply.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  for (auto [phase, us] : {std::pair<const char*, int64_t>{"restore", lease->restore_time().count()},
                           {"attach", attach_us}, {"prepare", prepare_us}, {"exec", exec_us},
                           {"teardown", teardown_us}}) {
    observe_phase(tier, phase, us);
  }
  log::info("shoot.done", {{"instance", caller.str()}, {"tier", tier}, {"exit", reply.exit_code},
                           {"timed_out", reply.timed_out ? "true" : "false"},
                           {"restore_us", lease->restore_time().count()}, {"attach_us", attach_us},
                           {"prepare_us", prepare_us}, {"exec_us", exec_us}, {"teardown_us", teardown_us}});
  return reply;
}

}  // namespace seed::reconcile
