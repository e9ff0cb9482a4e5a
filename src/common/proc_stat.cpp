#include "common/proc_stat.hpp"

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
  for (int field = 5; field < 22; ++field) in >> skip;  // fields 5..21
  in >> st.start_time;
  if (!in) return std::nullopt;
  return st;
}

}  // namespace seed
