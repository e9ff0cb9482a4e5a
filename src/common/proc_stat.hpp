// Reads /proc/<pid>/stat (identity, CPU time, resident memory). The start time (field 22, clock ticks since boot) together with the
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
  uint64_t utime = 0, stime = 0;  // CPU time in user and kernel mode, clock ticks
  uint64_t rss_pages = 0;         // resident set size
};

// CPU time and resident memory of a process, in seconds and bytes (what the status page plots
// for a VMM process).
struct ProcessUsage {
  double cpu_seconds = 0;
  uint64_t memory_bytes = 0;
};

std::optional<ProcStat> read_proc_stat(pid_t pid);
std::optional<ProcessUsage> read_process_usage(pid_t pid);

}  // namespace seed
