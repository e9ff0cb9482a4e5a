// Test hook for crash tests: named points inside seedd's actions where a kill -9 would leave
// something half done (right after each helper process is spawned, right before each record
// that names it is written). When the environment variable SEED_CRASH_AT equals a point's
// name, the process _exit()s there, as abruptly as kill -9 (no destructors, no cleanup), so a
// test can stop seedd in exactly that window and check what the next seedd makes of it
// (tests/e2e/crash_e2e_test.cpp).
//
// Production cost: one getenv() at each point, and every point sits next to a fork/exec or a
// synced file write that costs thousands of times more. It reads the environment each time
// instead of caching it in a global, so nothing else in seedd sees it; seedd never calls
// setenv(), so the read is safe from any thread.
#pragma once

#include <string_view>

namespace seed {

// The exit code of a process stopped at a crash point.
inline constexpr int kCrashPointExit = 99;

void crash_point(std::string_view name);

}  // namespace seed
