// seedd's subcommands. main() only parses arguments and dispatches here.
#pragma once

#include <string>
#include <vector>

#include "seedd/config.hpp"

namespace seed {

// `seedd run`: the daemon. Re-adopts recorded VMs, supervises them, notifies systemd.
int run_daemon(const Config& config);

// `seedd demo --guest DIR`: boots a demo microVM from the test guest, prints its console,
// shows the agent and a shared directory working, and stops it cleanly.
int run_demo(const Config& config, const std::string& guest_dir);

// `seedd vm start SPEC.json | stop NAME | list`: low-level VM control for debugging and tests.
int run_vm_command(const Config& config, const std::vector<std::string>& args);

}  // namespace seed
