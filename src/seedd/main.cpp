// seedd: the Seed node daemon. Composition root: parses arguments, loads the configuration
// and hands over to one subcommand.
#include <curl/curl.h>

#include <cstdio>
#include <string>
#include <vector>

#include "seedd/commands.hpp"

namespace {

void usage() {
  std::fputs(
      "usage: seedd [--config FILE] COMMAND\n"
      "  run                     run the daemon (re-adopts and supervises VMs)\n"
      "  demo [--guest DIR]      boot a demo microVM from the test guest and stop it\n"
      "  vm start SPEC.json      start one VM from a VmSpec file and leave it running\n"
      "  vm stop NAME            stop a recorded VM\n"
      "  vm list                 list recorded VMs\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string config_path;
  if (args.size() >= 2 && args[0] == "--config") {
    config_path = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    usage();
    return args.empty() ? 2 : 0;
  }
  auto config = config_path.empty() ? seed::Result<seed::Config>(seed::default_config())
                                    : seed::load_config(config_path);
  if (!config) {
    std::fprintf(stderr, "seedd: %s\n", config.error().describe().c_str());
    return 2;
  }
  seed::log::init(config->log_level);
  // libcurl (the Cloud Hypervisor API client) must be initialised once, before any thread.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "run" && args.empty()) return seed::run_daemon(*config);
  if (command == "demo") {
    std::string guest = "build/guest";
    if (args.size() == 2 && args[0] == "--guest") guest = args[1];
    else if (!args.empty()) return usage(), 2;
    return seed::run_demo(*config, guest);
  }
  if (command == "vm") return seed::run_vm_command(*config, args);
  usage();
  return 2;
}
