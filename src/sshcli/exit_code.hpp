// The one place an error code becomes an SSH exit status (docs/sshcli.md lists them), so
// scripts can branch on `$?` without parsing messages.
#pragma once

#include "common/error.hpp"

namespace seed::sshcli {

//   0 ok   1 failed (internal, io, a program failed)   2 usage (invalid_argument)
//   3 permission denied   4 not found   5 unavailable or timed out: retry later
//   6 conflict (already exists, in use)
int exit_code(Errc code);

}  // namespace seed::sshcli
