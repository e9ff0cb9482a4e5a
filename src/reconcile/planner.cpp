#include "reconcile/planner.hpp"

#include <algorithm>

#include "storage/size.hpp"

namespace seed::reconcile {
namespace {

using storage::format_size;

class Planner {
 public:
  explicit Planner(const PlanInput& in) : in_(in) {}

  Plan run() {
    std::vector<const DesiredInstance*> desired;
    for (const auto& d : in_.desired) desired.push_back(&d);
    std::sort(desired.begin(), desired.end(), [](auto* a, auto* b) { return a->id < b->id; });
    std::map<InstanceId, const ObservedInstance*> observed;
    for (const auto& o : in_.observed) observed[o.id] = &o;

    for (const DesiredInstance* d : desired) {
      auto it = observed.find(d->id);
      static const ObservedInstance none{};
      const ObservedInstance& o = it == observed.end() ? none : *it->second;
      converge(*d, o);
      if (it != observed.end()) observed.erase(it);
    }
    for (const auto& [id, o] : observed) remove(*o);  // std::map: already in id order
    return std::move(out_);
  }

 private:
  void act(ActionKind kind, const InstanceId& id, std::string generation = {}, std::string volume = {},
           uint64_t size = 0) {
    out_.actions.push_back({kind, id, std::move(generation), std::move(volume), size});
  }
  void problem(const InstanceId& id, std::string stage, std::string message) {
    out_.problems.push_back({id, std::move(stage), std::move(message)});
  }

  // A volume that would have to shrink blocks the new generation: shrinking loses data.
  bool volumes_can_grow(const DesiredInstance& d, const ObservedInstance& o) {
    bool fine = true;
    for (const auto& [name, size] : d.volumes) {
      auto have = o.volumes.find(name);
      if (have != o.volumes.end() && have->second > size) {
        problem(d.id, "storage",
                "volume '" + name + "' is " + format_size(have->second) + " but the new generation asks for " +
                    format_size(size) + "; volumes never shrink: ask for at least " +
                    format_size(have->second) + ", or use a new volume name");
        fine = false;
      }
    }
    return fine;
  }

  void prepare_host(const DesiredInstance& d, const ObservedInstance& o) {
    if (!o.tap) act(ActionKind::ensure_tap, d.id);
    for (const auto& [name, size] : d.volumes) {
      auto have = o.volumes.find(name);
      if (have == o.volumes.end()) {
        act(ActionKind::create_volume, d.id, {}, name, size);
      } else if (have->second < size) {
        act(ActionKind::grow_volume, d.id, {}, name, size);
      }
    }
  }

  void converge(const DesiredInstance& d, const ObservedInstance& o) {
    auto current = std::find_if(o.vms.begin(), o.vms.end(),
                                [&](const ObservedVm& vm) { return vm.generation == d.generation; });
    if (current != o.vms.end()) {
      if (current->state == VmState::exited) {
        supervise(d, o);
        return;
      }
      if (o.routed_generation != d.generation) {
        // Started but never routed (a deploy cut off by a crash): it has not passed its
        // health check yet, or not that anyone recorded.
        act(ActionKind::await_healthy, d.id, d.generation);
        act(ActionKind::route, d.id, d.generation);
      }
      stop_others(d, o);
      return;
    }
    if (in_.quarantined_toplevels.count(d.toplevel)) {
      problem(d.id, "quarantine",
              "generation " + d.generation + " (" + d.toplevel +
                  ") failed its health check and is quarantined; the previous generation keeps "
                  "running. Push a fix, or ask the node owner to clear it (`seedctl quarantine clear`)");
      return;
    }
    if (!volumes_can_grow(d, o)) return;
    prepare_host(d, o);
    if (d.rollout == Rollout::recreate) {
      stop_others(d, o);
      act(ActionKind::start_vm, d.id, d.generation);
      act(ActionKind::await_healthy, d.id, d.generation);
      act(ActionKind::route, d.id, d.generation);
    } else {
      act(ActionKind::start_vm, d.id, d.generation);
      act(ActionKind::await_healthy, d.id, d.generation);
      act(ActionKind::route, d.id, d.generation);
      stop_others(d, o);
    }
  }

  // The desired generation's VM exited: restart it once the backoff allows.
  void supervise(const DesiredInstance& d, const ObservedInstance& o) {
    if (o.crashes >= in_.max_crashes) {
      problem(d.id, "runtime",
              "crashed " + std::to_string(o.crashes) +
                  " times in a row and is no longer restarted; see `logs` for its last console "
                  "lines, then push a fix or `restart` it");
      return;
    }
    if (o.restart_after && in_.now < *o.restart_after) return;  // backing off: nothing yet
    if (!volumes_can_grow(d, o)) return;
    prepare_host(d, o);
    // stop_vm on an exited VM clears what it left (record, sockets) before the restart.
    act(ActionKind::stop_vm, d.id, d.generation);
    act(ActionKind::start_vm, d.id, d.generation);
    // The restarted VM is a new process in a fresh slot: routed (again) once it is healthy,
    // so `status` says `starting` until it answers.
    act(ActionKind::await_healthy, d.id, d.generation);
    act(ActionKind::route, d.id, d.generation);
    stop_others(d, o);
  }

  void stop_others(const DesiredInstance& d, const ObservedInstance& o) {
    for (const auto& vm : o.vms) {
      if (vm.generation != d.generation) act(ActionKind::stop_vm, d.id, vm.generation);
    }
  }

  void remove(const ObservedInstance& o) {
    if (!o.routed_generation.empty()) act(ActionKind::unroute, o.id);
    for (const auto& vm : o.vms) act(ActionKind::stop_vm, o.id, vm.generation);
    if (o.tap) act(ActionKind::remove_tap, o.id);
  }

  const PlanInput& in_;
  Plan out_;
};

}  // namespace

Plan plan(const PlanInput& input) { return Planner(input).run(); }

}  // namespace seed::reconcile
