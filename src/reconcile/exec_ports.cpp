#include "reconcile/exec_ports.hpp"

namespace seed::reconcile {

Result<unsigned> ExecPorts::take(const InstanceId& id, unsigned count) {
  std::lock_guard l(mu_);
  auto& taken = taken_[id];
  for (unsigned port = 0; port < count; ++port) {
    if (taken.insert(port).second) return port;
  }
  return make_error(Errc::in_use, "all " + std::to_string(count) + " exec sessions of " + id.name + " are busy")
      .with("instance", id.name)
      .with("stage", "exec")
      .with("hint", "at most " + std::to_string(count) + " commands run at once per instance: wait for one to end");
}

void ExecPorts::release(const InstanceId& id, unsigned port) {
  std::lock_guard l(mu_);
  auto it = taken_.find(id);
  if (it == taken_.end()) return;
  it->second.erase(port);
  if (it->second.empty()) taken_.erase(it);
}

}  // namespace seed::reconcile
