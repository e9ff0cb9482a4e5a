// The planner's vocabulary: what the node should run (desired), what it runs (observed), and
// the ordered actions that turn one into the other. Plain data, so the planner is a pure
// function and the executor can journal every action as JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace seed::reconcile {

using TimePoint = std::chrono::system_clock::time_point;

enum class Rollout { recreate, rolling };

struct InstanceId {
  std::string ns;    // the source's namespace
  std::string name;  // the instance name, a DNS label
  auto operator<=>(const InstanceId&) const = default;
  std::string str() const { return name + "." + ns; }
};

struct DesiredInstance {
  InstanceId id;
  std::string generation;
  std::string toplevel;  // store path, for quarantine
  Rollout rollout = Rollout::recreate;
  std::map<std::string, uint64_t> volumes;  // volume name → size in bytes
};

enum class VmState { running, exited };

struct ObservedVm {
  std::string generation;
  VmState state = VmState::running;
};

struct ObservedInstance {
  InstanceId id;
  std::vector<ObservedVm> vms;              // usually one; two during a rolling deploy
  std::map<std::string, uint64_t> volumes;  // existing volumes and their sizes
  bool tap = false;
  std::string routed_generation;            // DNS/ingress point at this generation ("" none)
  // Supervision bookkeeping for the running generation: consecutive crashes and when the
  // next restart is allowed (exponential backoff, decided by the supervisor).
  unsigned crashes = 0;
  std::optional<TimePoint> restart_after;
};

struct PlanInput {
  std::vector<DesiredInstance> desired;
  std::vector<ObservedInstance> observed;
  std::set<std::string> quarantined_toplevels;
  TimePoint now;
  unsigned max_crashes = 5;  // after this many consecutive crashes the instance is failed
};

enum class ActionKind {
  ensure_tap,     // tap + address for the instance (idempotent)
  create_volume,  // volume, size
  grow_volume,    // volume, size (the new, larger size)
  start_tpm,      // retired: never planned (each slot's swtpm starts with its VM in start_vm)
  start_vm,       // generation
  await_healthy,  // generation: deadline-bound; failure rolls back and quarantines
  route,          // generation: DNS, ingress and firewall point at it
  unroute,
  stop_vm,        // generation
  stop_tpm,       // retired: never planned (it stops with its VM in stop_vm); both stay so a
                  // journal an older seedd wrote still reads
  remove_tap,     // releases the address too; volumes and TPM state are kept
};

struct Action {
  ActionKind kind;
  InstanceId id;
  std::string generation;  // start_vm, await_healthy, route, stop_vm
  std::string volume;      // create_volume, grow_volume
  uint64_t size = 0;       // create_volume, grow_volume
  bool operator==(const Action&) const = default;
};

// An instance the planner will not touch this round, and why (shown by `status`).
struct Problem {
  InstanceId id;
  std::string stage;    // "storage", "quarantine", "runtime"
  std::string message;  // what happened and what to do
  bool operator==(const Problem&) const = default;
};

struct Plan {
  std::vector<Action> actions;
  std::vector<Problem> problems;
};

std::string to_string(ActionKind kind);
std::optional<ActionKind> action_kind_from_string(std::string_view name);
std::string describe(const Action& action);

}  // namespace seed::reconcile
