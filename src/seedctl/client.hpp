// seedctl's side of the control socket: sends one request, prints the answer as it streams in
// and turns it into seedctl's exit status (common/exit_code.hpp).
#pragma once

#include <cstdio>

#include "common/exit_code.hpp"
#include "seedctl/cli_args.hpp"

namespace seed::seedctl {

// Human output (or --json) to `out`, progress in --json mode and errors to `err`. Returns the
// exit status: 0, or exit_code() of the error seedd sent (the same table as the SSH CLI's);
// seedd unreachable is `unavailable` (5), or `permission_denied` (3) when the socket is not
// ours to open.
int run_client(const CliOptions& options, std::FILE* out, std::FILE* err);

}  // namespace seed::seedctl
