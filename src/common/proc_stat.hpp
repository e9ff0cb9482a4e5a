// Reads /proc/<pid>/stat. The start time (field 22, clock ticks since boot) together with the
// pid names one process for its whole life: a recycled pid has a different start time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace seed {

struct ProcStat {
  char state = '?';  // R, S, D, Z, ...
  pid_t ppid = 0;
  uint64_t start_time = 0;
};

std::optional<ProcStat> read_proc_stat(pid_t pid);

}  // namespace seed
