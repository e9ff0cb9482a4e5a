// The instance's side of a shoot in the e2e tests, and what of a shoot clone runs on the host.
// The hermetic guest has no curl or jq and its busybox wget misbehaves, so the instance POSTs
// $SEED_SHOOT_URL/shoot as HTTP/1.0 through busybox nc, run with its sh through its agent
// channel (`agent` is the instance VM's agent socket).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

namespace seed::e2e {

// The guest's printf text of a POST /shoot carrying `body`.
std::string shoot_request(const std::string& body);

// The instance POSTs `body` to the guest listener and waits up to `wait_s` for the whole reply
// (head and body).
std::string guest_shoot(const std::string& agent, const std::string& body, int wait_s = 60);

// Starts a shoot of `body` in the background inside the instance; its reply goes to
// /tmp/<tag>.out, nc's pid to /tmp/<tag>.pid. stdin stays open (sleep), so nc never
// half-closes: only its kill or the server's end closes the connection.
void guest_shoot_in_background(const std::string& agent, const std::string& body, const std::string& tag);

// Waits (bounded, 60 s) until the background shoot `tag` holds a clone: its streamed reply's
// head arrived. False on a 429 or when nothing came.
bool wait_streaming(const std::string& agent, const std::string& tag);

// pid -> command line of every process whose command line contains `text`. Each QEMU,
// virtiofsd and console logger of a shoot clone names the clone's directory
// (<run>/vm/shoot-<tier>-<n>/) on its command line.
std::map<pid_t, std::string> processes_naming(const std::string& text);

// What of shoot clones is on the node under `root` beyond the pool's `ready` clones, "" when
// nothing: any clone busy or restoring (`busy`), a clone directory (<root>/run/vm/shoot-*) too
// many, or a process, socket (under <root>/run) or console log (<root>/state/console/shoot-*, one tenant's output) of a
// clone that is not a ready one. `counts` describes the pool in the message.
std::string clones_beyond_ready(const std::string& root, unsigned ready, bool busy, const std::string& counts);

}  // namespace seed::e2e
