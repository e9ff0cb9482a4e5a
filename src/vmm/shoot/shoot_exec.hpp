// Runs a shoot's command in a prepared clone through its agent. This is the one place that
// knows HOW the command is run, so swapping the transport is a change to this file only.
//
// Today: the line agent's `sh` request (tests/guest/README.md). stdin is sent first in
// base64 chunks (an exec'd `sh -c` argument is limited to 128 KiB), the command runs with
// stdout and stderr into FIFOs drained by `head -c cap+1` (the rest is read and dropped, so a
// chatty command is never blocked or killed by the cap), then both files come back base64.
// Limits of this transport, gone with framed exec (src/vmm/agent_exec_frame.hpp,
// tests/guest/seed-agent-exec.c, issue 14): output is read after the command ends, so a
// timed-out shoot returns no output; a signal is inferred from an exit code above 128.
#pragma once

#include "common/error.hpp"
#include "vmm/agent_client.hpp"
#include "vmm/shoot/shoot_types.hpp"

namespace seed::vmm::shoot {

// Errc::timeout when the command outlived command.timeout (the caller destroys the VM).
Result<ShootResult> run_command(AgentClient& agent, const ShootCommand& command);

// The escaped word ash reads back as exactly `bytes` ($'\xHH…'); exposed for its unit test.
std::string shell_word(const std::string& bytes);

}  // namespace seed::vmm::shoot
