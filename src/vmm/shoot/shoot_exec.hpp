// Runs a shoot's command in a prepared clone. This is the one place that knows HOW the command
// is run, so swapping the transport is a change to this file only.
//
// The transport is framed exec (src/vmm/agent_exec_channel.hpp, the guest's seed-agent-exec,
// tests/guest/README.md "Exec frames") on one of two channels (ExecVia): binary-safe both ways,
// stdin sent as frames while output is read, stdout and stderr arriving as they are written, the
// exit code exact (128+N for signal N). The argv goes through the guest's /bin/sh only to `cd`
// and `export` (each value a positional parameter, never parsed as shell text), then `exec`.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "vmm/driver.hpp"
#include "vmm/shoot/shoot_types.hpp"
#include "vmm/vm_paths.hpp"

namespace seed::vmm::shoot {

// Where a clone's command goes. QEMU gives the guest plain exec ports (`org.seed.exec.<i>`),
// which throttle: nothing is lost however slowly seedd reads. Cloud Hypervisor gives it one
// console port, the agent's (hvc0, reached through ChAgentBridge), and a console port drops
// what its host end cannot take at once (QEMU's virtconsole at once, CH's past its output
// buffer), so there the exec runs windowed: the guest keeps what is in flight under
// kConsoleExecWindow, far below any of those buffers.
enum class ExecVia { exec_port, agent_console };
inline constexpr uint32_t kConsoleExecWindow = 32 * 1024;
struct ExecRoute {
  std::string socket;
  uint32_t window = 0;  // 0: unwindowed (an exec port)
};
// The channel a VM of `paths` offers: its first exec port, or its agent channel windowed.
ExecRoute exec_route(const VmPaths& paths, ExecVia via);
// What a driver's VMs offer: exec ports when it has them.
ExecVia exec_via(const VmmDriverInfo& driver);

// Runs `command` through `route`. Output is kept up to
// command.output_cap per stream (the rest is read and dropped, so a chatty command is never
// blocked or killed by the cap; `truncated` says so) and passed to command.on_output as it
// comes. At command.timeout the command's process group is killed and the result has
// `timed_out` with the output so far (the caller destroys the VM). A clone that goes away
// mid-command (killed by a cancel) is Errc::unavailable.
Result<ShootResult> run_command(const ExecRoute& route, const ShootCommand& command);

// The argv the exec port runs for `command`: /bin/sh -c <cd, export, exec> with cwd, the env
// entries and the command's argv as positional parameters. Exposed for its unit test.
std::vector<std::string> exec_argv(const ShootCommand& command);

}  // namespace seed::vmm::shoot
