#include "reconcile/plan_types.hpp"

namespace seed::reconcile {

namespace {
constexpr ActionKind kAllKinds[] = {
    ActionKind::ensure_tap, ActionKind::create_volume, ActionKind::grow_volume, ActionKind::start_tpm,
    ActionKind::start_vm,   ActionKind::await_healthy, ActionKind::route,       ActionKind::unroute,
    ActionKind::stop_vm,    ActionKind::stop_tpm,      ActionKind::remove_tap,
};
}  // namespace

std::string to_string(ActionKind kind) {
  switch (kind) {
    case ActionKind::ensure_tap: return "ensure_tap";
    case ActionKind::create_volume: return "create_volume";
    case ActionKind::grow_volume: return "grow_volume";
    case ActionKind::start_tpm: return "start_tpm";
    case ActionKind::start_vm: return "start_vm";
    case ActionKind::await_healthy: return "await_healthy";
    case ActionKind::route: return "route";
    case ActionKind::unroute: return "unroute";
    case ActionKind::stop_vm: return "stop_vm";
    case ActionKind::stop_tpm: return "stop_tpm";
    case ActionKind::remove_tap: return "remove_tap";
  }
  return "?";
}

std::string describe(const Action& a) {
  std::string out = to_string(a.kind) + " " + a.id.str();
  if (!a.generation.empty()) out += " " + a.generation;
  if (!a.volume.empty()) out += " " + a.volume + "=" + std::to_string(a.size);
  return out;
}

std::optional<ActionKind> action_kind_from_string(std::string_view name) {
  for (ActionKind k : kAllKinds) {
    if (to_string(k) == name) return k;
  }
  return std::nullopt;
}

}  // namespace seed::reconcile
