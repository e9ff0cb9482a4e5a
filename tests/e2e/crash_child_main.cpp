// The crash child: opens a test node's engine and plants a source with the fault hook set,
// so the process _exit()s after N journaled actions (0: never), as if killed with -9 at that
// point; or at the crash point SEED_CRASH_AT names (common/crash_point.hpp); or whenever the
// test kills it. Run by crash_e2e_test inside the test's network namespace (nsenter --net).
//   engine_crash_child ROOT URI N
#include <cstdio>
#include <cstdlib>
#include <string>

#include "node_parts.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: engine_crash_child ROOT URI N\n");
    return 2;
  }
  const std::string root = argv[1];
  auto config = seed::e2e::node_config(root);
  config.fault_after_actions = static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10));
  auto engine = seed::e2e::start_child_engine(config, root);
  if (!engine) {
    std::fprintf(stderr, "%s\n", engine.error().describe().c_str());
    return 1;
  }
  auto planted = (*engine)->plant(argv[2], "crash-test", nullptr);
  std::fprintf(stderr, "plant finished without the fault firing: %s\n",
               planted ? "ok" : planted.error().describe().c_str());
  return 3;
}
