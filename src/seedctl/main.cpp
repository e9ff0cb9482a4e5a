// seedctl: the node owner's local admin CLI. Talks to seedd over its control socket
// (docs/seedctl.md); all the work happens in seedd.
#include <time.h>

#include <cstdio>
#include <string>
#include <vector>

#include "seedctl/cli_args.hpp"
#include "seedctl/client.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = seed::seedctl::parse_cli(args, static_cast<int64_t>(::time(nullptr)));
  if (!options) {
    std::fprintf(stderr, "seedctl: %s\n\n%s", options.error().message.c_str(), seed::seedctl::usage_text().c_str());
    return seed::exit_usage;
  }
  if (options->help) {
    std::fputs(seed::seedctl::usage_text().c_str(), stdout);
    return seed::exit_ok;
  }
  return seed::seedctl::run_client(*options, stdout, stderr);
}
