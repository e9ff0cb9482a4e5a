// Runs a shoot's command in a prepared clone. This is the one place that knows HOW the command
// is run, so swapping the transport is a change to this file only.
//
// The transport is framed exec (src/vmm/agent_exec_channel.hpp, the guest's seed-agent-exec on
// an `org.seed.exec.<i>` port, tests/guest/README.md "Exec frames"): binary-safe both ways,
// stdin sent as frames while output is read, stdout and stderr arriving as they are written, the
// exit code exact (128+N for signal N). The argv goes through the guest's /bin/sh only to `cd`
// and `export` (each value a positional parameter, never parsed as shell text), then `exec`.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "vmm/shoot/shoot_types.hpp"

namespace seed::vmm::shoot {

// Runs `command` on the clone's exec port `exec_socket`. Output is kept up to
// command.output_cap per stream (the rest is read and dropped, so a chatty command is never
// blocked or killed by the cap; `truncated` says so) and passed to command.on_output as it
// comes. At command.timeout the command's process group is killed and the result has
// `timed_out` with the output so far (the caller destroys the VM). A clone that goes away
// mid-command (killed by a cancel) is Errc::unavailable.
Result<ShootResult> run_command(const std::string& exec_socket, const ShootCommand& command);

// The argv the exec port runs for `command`: /bin/sh -c <cd, export, exec> with cwd, the env
// entries and the command's argv as positional parameters. Exposed for its unit test.
std::vector<std::string> exec_argv(const ShootCommand& command);

}  // namespace seed::vmm::shoot
