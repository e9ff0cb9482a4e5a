// A test node with shoots on, shared by the shoot fixture and the shoot crash child (a real
// engine and guest listener in a process the test kills with SIGKILL): both must configure the
// pool and the listener the same way, or the restarted engine would not recognise the child's.
#pragma once

#include <string>

#include "node_parts.hpp"
#include "seedd/api_wiring.hpp"

namespace seed::e2e {

// Shoots on: the hermetic guest as the shoot image, one `small` tier (1 vCPU, 256 MiB, one
// ready clone), room for two clones, SEED_SHOOT_URL on the bridge's guest listener.
void enable_shoots(reconcile::EngineConfig& config, const std::string& root);

// The guest's printf text of a POST /shoot carrying `body` (busybox nc wants HOST PORT, and its
// wget misbehaves in this guest, so the instance speaks HTTP/1.0 through nc).
inline std::string shoot_request(const std::string& body) {
  return "POST /shoot HTTP/1.0\\r\\nContent-Type: application/json\\r\\nContent-Length: " +
         std::to_string(body.size()) + "\\r\\n\\r\\n" + body;
}

// The guest listener as seedd wires it, with POST /shoot.
inline ApiSettings shoot_api_settings(const std::string& root) {
  ApiSettings s;
  s.guest_address = kBridgeAddress;
  s.guest_port = kGuestApiPort;
  s.domain = "seed.test";
  s.state_dir = root + "/state";
  s.shoots = true;
  s.limits.threads = 4;
  return s;
}

}  // namespace seed::e2e
