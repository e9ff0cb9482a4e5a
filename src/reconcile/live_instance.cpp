#include "reconcile/live_instance.hpp"

namespace seed::reconcile {

Slot* slot_of(Live& live, const std::string& generation) {
  for (auto& s : live.slots) {
    if (s.generation == generation) return &s;
  }
  return nullptr;
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

}  // namespace seed::reconcile
