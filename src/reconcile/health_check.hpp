// Does a freshly started generation work? A new VM must pass within its deadline, or the
// engine rolls back to the previous generation and quarantines the toplevel.
//
// The check, in order (each bounded by the one deadline):
//   1. the guest answers `ping` on the agent channel (it booted and its init is up);
//   2. meta.health: `http` → GET http://<ip>:<port><path> answers 2xx/3xx (libcurl);
//      `command` → the agent runs it in the guest and it exits 0;
//      none → every exposed TCP port of the instance accepts a connection.
// `still_running` is polled between tries, so a VM that dies fails the check at once with
// the VM's own report instead of waiting out the deadline.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/error.hpp"
#include "reconcile/meta.hpp"

namespace seed::reconcile {

struct HealthTarget {
  std::string agent_socket;
  std::string ipv4;
  const InstanceMeta* meta = nullptr;
  std::chrono::steady_clock::time_point deadline;
  std::function<Status()> still_running;  // an error ends the check with that error
};

// Errc::timeout (stage "health") naming what did not answer, or still_running's error.
Status await_healthy(const HealthTarget& target);

}  // namespace seed::reconcile
