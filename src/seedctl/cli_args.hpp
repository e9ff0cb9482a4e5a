// seedctl's command line → one control request plus how to print its answer. Pure, so every
// usage error is unit-tested without a server.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "control/control_protocol.hpp"

namespace seed::seedctl {

inline constexpr const char* default_socket = "/run/seedd/control.sock";

struct CliOptions {
  std::string socket = default_socket;
  bool json = false;
  bool help = false;  // -h/--help: print usage, exit 0
  control::Request request;
};

// Errors are usage errors (Errc::invalid_argument, stage "usage"): print them and the usage,
// exit 2. `now` (unix seconds) anchors --expires durations.
Result<CliOptions> parse_cli(const std::vector<std::string>& args, int64_t now);

std::string usage_text();

}  // namespace seed::seedctl
