// A slot's record on disk, <state_dir>/instances/<ns>/<name>/slot-<letter>.json: written
// before its VM starts and updated as it changes (swtpm started, routed), removed once the
// VM is stopped. A restarted seedd rebuilds its Live instances from these and adopts the VMs
// and swtpms they name.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/process.hpp"
#include "reconcile/plan_types.hpp"

namespace seed::reconcile {

struct SlotRecord {
  InstanceId id;
  char letter = 'a';
  std::string source;
  std::string generation;
  std::string toplevel;
  nlohmann::json meta;  // as nix gave it
  std::string vm_name;
  std::optional<ProcessRecord> swtpm;
  std::string ipv4, ipv6;
  int64_t started_at = 0;
  bool routed = false;
};

// <dir>/instances/<ns>/<name>: under the state dir, an instance's slot records, TPM share and
// `tpm-current`; under the runtime dir, its seed shares.
std::string instance_dir(const std::string& dir, const InstanceId& id);
// The `seed` share of a slot: runtime files, rewritten on every start, removed on stop.
std::string seed_share_dir(const std::string& runtime_dir, const InstanceId& id, char letter);
std::string slot_record_path(const std::string& state_dir, const InstanceId& id, char letter);
Status save_slot_record(const std::string& state_dir, const SlotRecord& record);
Status remove_slot_record(const std::string& state_dir, const InstanceId& id, char letter);
// Every record under <state_dir>/instances; unreadable ones are reported, not fatal.
std::vector<SlotRecord> load_slot_records(const std::string& state_dir, std::vector<Error>& problems);

}  // namespace seed::reconcile
