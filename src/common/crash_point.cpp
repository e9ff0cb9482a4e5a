#include "common/crash_point.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace seed {

void crash_point(std::string_view name) {
  const char* want = std::getenv("SEED_CRASH_AT");
  if (want == nullptr || name != want) return;
  // Straight to stderr: the logger may buffer, and nothing may run after this line.
  std::fprintf(stderr, "crash point %s reached: exiting as if killed\n", want);
  ::_exit(kCrashPointExit);
}

}  // namespace seed
