// The shoot crash child: seedd's engine and guest listener with shoots on, in a process of its
// own that the test kills with SIGKILL while shoots run (shoot_e2e_test). It adopts the node's
// planted instance, waits for the pool's template, writes READY_FILE and serves until killed.
// Run inside the test's network namespace (nsenter --net), in the host's mount namespace as
// seedd runs.
//   shoot_crash_child ROOT READY_FILE
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "common/fd.hpp"
#include "shoot_node.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: shoot_crash_child ROOT READY_FILE\n");
    return 2;
  }
  const std::string root = argv[1];
  auto config = seed::e2e::node_config(root);
  seed::e2e::enable_shoots(config, root);
  auto engine = seed::e2e::start_child_engine(config, root);
  if (!engine) {
    std::fprintf(stderr, "%s\n", engine.error().describe().c_str());
    return 1;
  }
  auto api = seed::start_api(seed::e2e::shoot_api_settings(root), **engine);
  if (!api) {
    std::fprintf(stderr, "%s\n", api.error().describe().c_str());
    return 1;
  }
  for (int i = 0; i < 1200; ++i) {  // bounded wait for the template (as the fixture's)
    auto stats = (*engine)->shoot_pool_stats();
    if (!stats.empty() && !stats[0].template_error.empty()) {
      std::fprintf(stderr, "template: %s\n", stats[0].template_error.c_str());
      return 1;
    }
    if (!stats.empty() && stats[0].template_ready && stats[0].ready > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (auto w = seed::write_file_atomic(argv[2], "ready\n"); !w) {
    std::fprintf(stderr, "%s\n", w.error().describe().c_str());
    return 1;
  }
  for (;;) ::pause();  // serves until the test's SIGKILL
}
