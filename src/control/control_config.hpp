// Settings of seedd's local control socket (what seedctl talks to). Part of seedd's JSON
// config under "control"; kept in its own header so the config parser needs nothing else.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "common/audit_log.hpp"

namespace seed::control {

struct ControlConfig {
  // The socket is created 0600 in a parent directory kept at 0700, both owned by seedd's user
  // (root): only the node owner may plant, unplant or read every instance's console.
  std::string socket_path = "/run/seedd/control.sock";
  unsigned max_clients = 16;               // concurrent connections; more get one error line
  size_t max_request_bytes = 64 * 1024;    // one request line
  std::chrono::milliseconds request_timeout{10000};  // to send that line after connecting
  std::chrono::milliseconds write_timeout{30000};    // a client that stops reading is dropped
  std::string ssh_host_key_path{};  // "<state_dir>/ssh/ssh_host_ed25519_key.pub" ("" = unknown)
  std::string ca_root_path{};       // the internal CA's root, "<state_dir>/acme-ca/ca.pem" ("" = unknown)
  // The session audit `sessions` lists (seedd owns it; null: `sessions` says there is none).
  const AuditLog* audit = nullptr;
};

}  // namespace seed::control
