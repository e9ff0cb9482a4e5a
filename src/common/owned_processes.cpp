#include "common/owned_processes.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/proc_stat.hpp"

namespace seed {
namespace {

// The NUL-separated entries of a /proc/<pid>/{environ,cmdline} file.
std::vector<std::string> nul_split(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool carries(pid_t pid, const std::string& mark) {
  auto environ = read_file("/proc/" + std::to_string(pid) + "/environ");
  if (!environ) return false;  // gone meanwhile, or a kernel thread
  for (const auto& entry : nul_split(*environ)) {
    if (entry == mark) return true;
  }
  return false;
}

}  // namespace

std::string owner_mark(const std::string& owner) { return "SEED_OWNER=" + owner; }

std::vector<ProcessRecord> find_owned(const std::string& owner) {
  const std::string mark = owner_mark(owner);
  std::vector<ProcessRecord> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (!carries(pid, mark)) continue;
    auto st = read_proc_stat(pid);
    if (!st || st->state == 'Z') continue;
    auto cmdline = read_file("/proc/" + name + "/cmdline");
    found.push_back(ProcessRecord{pid, st->start_time, cmdline ? nul_split(*cmdline) : std::vector<std::string>{}});
  }
  return found;
}

namespace {

// The records in `owned` whose process is neither in `keep` nor a descendant of one.
std::vector<ProcessRecord> unkept(const std::vector<ProcessRecord>& owned, const std::set<pid_t>& keep) {
  std::map<pid_t, pid_t> parent;
  for (const auto& r : owned) {
    if (auto st = read_proc_stat(r.pid)) parent[r.pid] = st->ppid;
  }
  auto kept = [&](pid_t pid) {
    for (int depth = 0; pid > 1 && depth < 64; ++depth) {
      if (keep.count(pid)) return true;
      auto it = parent.find(pid);
      if (it != parent.end()) {
        pid = it->second;
      } else {
        auto st = read_proc_stat(pid);
        if (!st) return false;
        pid = st->ppid;
      }
    }
    return false;
  };
  std::vector<ProcessRecord> out;
  for (const auto& r : owned) {
    if (!kept(r.pid)) out.push_back(r);
  }
  return out;
}

// How many scans end_strays makes at most. A stray that starts a new child while dying (a
// shell loop whose child was ended first) leaves one more to end per scan; a few scans end
// any chain a real helper makes.
constexpr int kMaxSweeps = 8;

}  // namespace

std::vector<ProcessRecord> end_strays(const std::string& owner, const std::set<pid_t>& keep,
                                      std::chrono::milliseconds grace) {
  std::vector<ProcessRecord> ended;
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    std::vector<Child> dying;
    for (const auto& r : unkept(find_owned(owner), keep)) {
      // adopt() pins the process by pidfd and checks its start time: a pid recycled since the
      // scan is never signalled.
      auto child = adopt(r);
      if (!child) continue;
      log::warn("process.stray", {{"owner", owner}, {"pid", r.pid},
                                  {"argv0", r.argv.empty() ? std::string() : r.argv.front()}});
      (void)child->signal(SIGTERM);
      dying.push_back(std::move(*child));
      ended.push_back(r);
    }
    if (dying.empty()) return ended;
    // One grace for all of them, not one each (they were all asked above): terminate() waits
    // what is left of it, then kills. A stray may have started a child meanwhile (its own
    // child ended first); the next scan finds it.
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (auto& child : dying) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      child.terminate(std::max(left, std::chrono::milliseconds(0)));
    }
  }
  // Still more after every sweep: something keeps starting marked processes. Say what, so the
  // operator can find it (`ps -e -o pid,args`).
  const auto left = unkept(find_owned(owner), keep);
  if (!left.empty()) {
    log::error("process.stray.unending", {{"owner", owner}, {"sweeps", kMaxSweeps}, {"left", left.size()},
                                          {"argv0", left.front().argv.empty() ? std::string() : left.front().argv.front()}});
  }
  return ended;
}

}  // namespace seed
