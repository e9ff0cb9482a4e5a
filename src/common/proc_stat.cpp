#include "common/proc_stat.hpp"

#include <unistd.h>

#include <sstream>
#include <string>

#include "common/fd.hpp"

namespace seed {

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  // comm (field 2) is in parentheses and may itself contain ')' or spaces: parse after the last.
  auto close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(text->substr(close + 1));
  ProcStat st;
  in >> st.state >> st.ppid;
  std::string skip;
  for (int field = 5; field < 14; ++field) in >> skip;  // fields 5..13
  in >> st.utime >> st.stime;                           // fields 14, 15
  for (int field = 16; field < 22; ++field) in >> skip;  // fields 16..21
  in >> st.start_time;
  in >> skip >> st.rss_pages;                           // fields 23 (vsize), 24
  if (!in) return std::nullopt;
  return st;
}

std::optional<ProcessUsage> read_process_usage(pid_t pid) {
  auto st = read_proc_stat(pid);
  if (!st) return std::nullopt;
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return ProcessUsage{static_cast<double>(st->utime + st->stime) / ticks, st->rss_pages * page};
}

}  // namespace seed
