// The one place an error code becomes a process exit status, for both command lines that end
// in one: the tenants' SSH CLI (`ssh node …`, and git over it) and the node owner's seedctl.
// One table, so a script branches on `$?` the same way on both without parsing messages
// (docs/sshcli.md and docs/seedctl.md list it).
#pragma once

#include "common/error.hpp"

namespace seed {

enum ExitCode : int {
  exit_ok = 0,
  exit_failed = 1,       // internal, io, protocol, process_failed: the operation failed
  exit_usage = 2,        // invalid_argument, cannot_shrink: fix the command or its input
  exit_denied = 3,       // permission_denied: not authorized, an invite that is not valid
  exit_not_found = 4,    // not_found
  exit_retry_later = 5,  // unavailable, timeout: busy, rate limited, or a part is down
  exit_conflict = 6,     // already_exists, in_use, conflict
};

ExitCode exit_code(Errc code);

}  // namespace seed
