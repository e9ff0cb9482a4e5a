// seedctl's side of the control socket: sends one request, prints the answer as it streams in
// and turns it into seedctl's exit code.
#pragma once

#include <cstdio>

#include "seedctl/cli_args.hpp"

namespace seed::seedctl {

enum ExitCode : int { exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_unreachable = 3 };

// Human output (or --json) to `out`, progress in --json mode and errors to `err`.
int run_client(const CliOptions& options, std::FILE* out, std::FILE* err);

}  // namespace seed::seedctl
