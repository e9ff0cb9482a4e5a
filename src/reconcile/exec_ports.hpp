// Which exec ports of each instance are taken (`ssh <node> exec`): every VM has a fixed number
// (vmm::kExecPorts under QEMU), one command runs on each at a time, so the next caller gets a
// free one or a clear "busy" refusal. Never a repository or another key: the caller learns only
// that the instance is busy (strangers get "not found" before they get here anyway).
#pragma once

#include <map>
#include <mutex>
#include <set>

#include "common/error.hpp"
#include "reconcile/plan_types.hpp"

namespace seed::reconcile {

class ExecPorts {
 public:
  // The lowest free port of `id` among `count`; Errc::in_use when all are taken.
  Result<unsigned> take(const InstanceId& id, unsigned count);
  void release(const InstanceId& id, unsigned port);

 private:
  std::mutex mu_;
  std::map<InstanceId, std::set<unsigned>> taken_;
};

}  // namespace seed::reconcile
