// A test node with shoots on: the engine fixture's (shoot_e2e_test) and the seedd.json of the
// test that runs the seedd binary (seedd_shoot_crash_e2e_test) use the same image and limits.
#pragma once

#include <string>

#include "node_parts.hpp"
#include "seedd/api_wiring.hpp"
#include "vmm/shoot/shoot_template.hpp"

namespace seed::e2e {

// The hermetic guest as the shoot image (its kernel-params as the command line).
vmm::shoot::ShootImage shoot_image();

// Shoots on: the hermetic guest as the shoot image, one `small` tier (1 vCPU, 256 MiB, one
// ready clone), room for two clones, SEED_SHOOT_URL on the bridge's guest listener.
void enable_shoots(reconcile::EngineConfig& config, const std::string& root);

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
