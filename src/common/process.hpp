// Running external programs: argv vectors only (never a shell), every fd close-on-exec unless
// handed over on purpose, exit watched through a pidfd, output captured, deadlines enforced.
//
// Long-lived children (VMMs, virtiofsd, swtpm, console loggers) are described by a
// ProcessRecord (pid + start time + argv) that seedd persists; after a seedd restart, adopt()
// turns a record back into a watchable Child without restarting anything.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed {

// A file descriptor of the parent handed to the child under a fixed number.
struct FdMapping {
  int parent_fd = -1;
  int child_fd = -1;
};

enum class Output {
  null,     // /dev/null
  inherit,  // the parent's own stream
  capture,  // a pipe the parent reads (run() collects it)
  file,     // appended to a file (long-lived children: survives the parent)
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH unless it contains '/'
  std::vector<std::string> env;   // extra KEY=VALUE entries, on top of the parent's environment
  std::vector<FdMapping> fds;
  Output stdout_mode = Output::null;
  Output stderr_mode = Output::capture;
  std::string stdout_file;  // with Output::file
  std::string stderr_file;  // with Output::file
  std::string cwd;
  bool new_session = true;  // own session and process group: a terminal's ^C never reaches it
  bool kill_with_parent = false;  // PR_SET_PDEATHSIG(SIGKILL): for short helpers only
  // Paths made read-only for the child: it runs in a private mount namespace in which each is
  // bind-mounted onto itself read-only (virtiofsd has no read-only switch of its own).
  std::vector<std::string> readonly_paths;
  // Resource caps set in the child before exec (nullopt: inherited). RLIMIT_AS bounds what an
  // untrusted evaluation (a tenant's nix expression) may allocate.
  std::optional<uint64_t> address_space_limit;
  // Drop to this uid/gid (supplementary groups cleared) before exec: nix evaluations of tenant
  // flakes run unprivileged.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  // Marks a long-lived helper as started by the seedd that owns this (its runtime directory):
  // SEED_OWNER=<owner> in the child's environment, so a restarted seedd finds it even if it
  // died before recording it (common/owned_processes.hpp). Empty: unmarked.
  std::string owner;
};

struct ProcessRecord {
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::vector<std::string> argv;
};
void to_json(nlohmann::json& j, const ProcessRecord& r);
void from_json(const nlohmann::json& j, ProcessRecord& r);

struct ExitStatus {
  bool known = true;  // false for adopted processes: only our own children can be reaped
  int code = 0;       // exit code, when exited normally
  int signal = 0;     // terminating signal, or 0
  bool success() const { return known && signal == 0 && code == 0; }
  std::string describe() const;
};

class Child {
 public:
  Child() = default;
  Child(Child&&) noexcept = default;
  Child& operator=(Child&&) noexcept = default;
  ~Child() = default;  // never kills: a long-lived child outlives its handle on purpose

  pid_t pid() const { return pid_; }
  const ProcessRecord& record() const { return record_; }
  bool adopted() const { return adopted_; }
  // Readable (poll POLLIN) once the process has exited; for event loops.
  int pidfd() const { return pidfd_.get(); }

  bool running() const;
  Status signal(int sig) const;
  // Waits for exit up to `timeout` (nullopt: forever). Errc::timeout if still running.
  Result<ExitStatus> wait(std::optional<std::chrono::milliseconds> timeout);
  // SIGTERM, then SIGKILL after `grace`; always reaps. Returns how it ended.
  ExitStatus terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  UniqueFd& stdin_pipe() { return stdin_; }
  UniqueFd& stdout_pipe() { return stdout_; }
  UniqueFd& stderr_pipe() { return stderr_; }

 private:
  friend Result<Child> spawn(const SpawnOptions&);
  friend Result<Child> adopt(const ProcessRecord&);

  pid_t pid_ = 0;
  UniqueFd pidfd_;
  ProcessRecord record_;
  bool adopted_ = false;
  std::optional<ExitStatus> exit_;
  UniqueFd stdin_, stdout_, stderr_;
};

// Starts a program. Fails with Errc::unavailable (binary named) when it cannot be executed.
Result<Child> spawn(const SpawnOptions& options);

// Re-attaches to a process started by an earlier seedd. Errc::not_found when it is gone or its
// pid now belongs to another process (start time differs).
Result<Child> adopt(const ProcessRecord& record);

struct RunResult {
  ExitStatus status;
  std::string out;
  std::string err;
};

struct RunOptions {
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
  std::string input;                    // written to the child's stdin, then closed
  size_t max_output = 64 * 1024 * 1024;  // per stream; the excess is dropped, not buffered
  // When this fd becomes readable (an eventfd a shutdown writes), the whole process group is
  // killed and run() fails with Errc::unavailable and context cancelled=yes; the caller says
  // why in its own terms. -1: none.
  int cancel_fd = -1;
};

// Runs to completion capturing stdout and stderr. A program that exits non-zero is not an
// error here (the caller decides); a timeout kills its whole process group.
Result<RunResult> run(SpawnOptions options, const RunOptions& run_options = {});

// run() that turns a non-zero exit into Errc::process_failed carrying the program's stderr.
Result<RunResult> run_checked(SpawnOptions options, const RunOptions& run_options = {});

// PATH lookup as execvp would do it; nullopt when not found or not executable.
std::optional<std::string> find_executable(const std::string& name);

}  // namespace seed
