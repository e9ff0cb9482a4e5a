// The engine's in-memory picture of an instance: what the flake asks for (DesiredFull) and
// what runs (Live with up to two slots, two only during a rolling deploy).
//
// A slot is one VM with its own tap, address and swtpm. Slot 'a' uses the instance's own
// network identity {ns, name}; slot 'b' uses {ns + "-b", name}, which no source can own
// (namespaces are exactly 14 characters), so the overlap of a rolling deploy never takes
// someone else's address. Each slot's record (slot_record.hpp) is on disk while its VM may run.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/meta.hpp"
#include "reconcile/plan_types.hpp"
#include "reconcile/service.hpp"
#include "reconcile/slot_record.hpp"
#include "tpm/tpm_manager.hpp"
#include "vmm/vm_runner.hpp"

namespace seed::reconcile {

struct DesiredFull {
  DesiredInstance plan;  // what the planner sees
  InstanceMeta meta;
  std::string source;    // canonical URI
};

struct Slot {
  char letter = 'a';
  std::string generation;
  std::string toplevel;
  InstanceMeta meta;
  std::string vm_name;
  std::unique_ptr<vmm::RunningVm> vm;  // null once it exited
  std::optional<tpm::RunningVtpm> tpm;
  std::string ipv4, ipv6;
  int64_t started_at = 0;
  bool routed = false;
  std::string exit_report;  // how it ended, when it exited on its own
};

struct Live {
  InstanceId id;
  std::string source;
  std::vector<Slot> slots;
  unsigned crashes = 0;
  uint64_t shoots_ran = 0;  // since seedd started (status shows them)
  unsigned shoots_running = 0;
  std::optional<TimePoint> restart_after;
  bool starting = false;  // a deploy of it is in flight (status shows `starting`)
  // The last generation that was healthy, kept after it is stopped so a failed deploy can be
  // rolled back to it.
  std::optional<DesiredFull> last_good;
  std::optional<Failure> failure;
  // Public ports its routed generation exposes that another instance holds (stage runtime):
  // recomputed by every publish_routes, shown by `status` when there is no other failure.
  std::optional<Failure> port_conflict;
};

// The slot running `generation`, or null.
Slot* slot_of(Live& live, const std::string& generation);

// What a slot's record on disk says about it.
SlotRecord record_of(const Live& live, const Slot& s);

}  // namespace seed::reconcile
