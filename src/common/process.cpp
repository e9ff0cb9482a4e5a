#include "common/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/close_range.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/owned_processes.hpp"
#include "common/proc_stat.hpp"

extern char** environ;

namespace seed {
namespace {

using Clock = std::chrono::steady_clock;

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

// Everything the child needs, prepared before fork(): after fork only async-signal-safe calls
// are allowed, so no allocation happens in the child.
struct ChildPlan {
  std::string path;
  std::vector<char*> argv;
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
  std::vector<FdMapping> fds;
  std::vector<int> targets;  // the mapped child fd numbers >= 3, sorted, unique
  const char* cwd = nullptr;
  bool new_session = true;
  bool kill_with_parent = false;
  std::vector<const char*> readonly_paths;
  bool limit_as = false;
  rlimit as_limit{};
  bool set_gid = false, set_uid = false;
  gid_t gid = 0;
  uid_t uid = 0;
  int error_pipe = -1;
};

[[noreturn]] void child_fail(int error_pipe, int err) {
  // Report errno to the parent through the close-on-exec pipe; the parent turns it into Error.
  ssize_t ignored = ::write(error_pipe, &err, sizeof err);
  (void)ignored;
  ::_exit(127);
}

[[noreturn]] void run_child(const ChildPlan& plan) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);  // the parent may block signals for its own loop
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  if (plan.new_session && ::setsid() < 0) child_fail(plan.error_pipe, errno);
  if (plan.kill_with_parent && ::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    child_fail(plan.error_pipe, errno);
  }
  if (!plan.readonly_paths.empty()) {
    if (::unshare(CLONE_NEWNS) != 0) child_fail(plan.error_pipe, errno);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      child_fail(plan.error_pipe, errno);
    }
    for (const char* p : plan.readonly_paths) {
      if (::mount(p, p, nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
          ::mount(nullptr, p, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
        child_fail(plan.error_pipe, errno);
      }
    }
  }
  // Hand over the standard streams and the mapped fds. First move every source above the
  // highest target so a target number can never clobber a source that is still needed.
  int top = 3;
  for (const auto& m : plan.fds) top = std::max(top, m.child_fd + 1);
  // The error pipe too: a target that happens to have its number would close it, and a later
  // failure (chdir, execve) would then go unreported and be mistaken for a successful start.
  int error_pipe = ::fcntl(plan.error_pipe, F_DUPFD_CLOEXEC, top);
  if (error_pipe < 0) child_fail(plan.error_pipe, errno);
  int sources[3 + 64];
  int n = 0;
  sources[n++] = plan.stdin_fd;
  sources[n++] = plan.stdout_fd;
  sources[n++] = plan.stderr_fd;
  for (const auto& m : plan.fds) sources[n++] = m.parent_fd;
  for (int i = 0; i < n; ++i) {
    int moved = ::fcntl(sources[i], F_DUPFD_CLOEXEC, top);
    if (moved < 0) child_fail(error_pipe, errno);
    sources[i] = moved;
  }
  for (int i = 0; i < n; ++i) {
    int target = i < 3 ? i : plan.fds[static_cast<size_t>(i - 3)].child_fd;
    if (::dup2(sources[i], target) < 0) child_fail(error_pipe, errno);  // clears CLOEXEC
  }
  // Anything else the parent left open without CLOEXEC must not leak into the child: mark
  // every number that is not a target close-on-exec, the gaps between targets included.
  unsigned from = 3;
  for (int t : plan.targets) {
    if (static_cast<unsigned>(t) > from) {
      ::syscall(SYS_close_range, from, static_cast<unsigned>(t) - 1, CLOSE_RANGE_CLOEXEC);
    }
    from = static_cast<unsigned>(t) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, CLOSE_RANGE_CLOEXEC);
  if (plan.limit_as && ::setrlimit(RLIMIT_AS, &plan.as_limit) != 0) child_fail(error_pipe, errno);
  // Group before user: once the uid is dropped, changing groups is no longer allowed.
  if (plan.set_gid && (::setgroups(0, nullptr) != 0 || ::setgid(plan.gid) != 0)) child_fail(error_pipe, errno);
  if (plan.set_uid && ::setuid(plan.uid) != 0) child_fail(error_pipe, errno);
  if (plan.cwd != nullptr && ::chdir(plan.cwd) != 0) child_fail(error_pipe, errno);
  ::execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  child_fail(error_pipe, errno);
}

Result<UniqueFd> open_output(Output mode, const std::string& file, int inherit_fd,
                             UniqueFd& parent_end) {
  switch (mode) {
    case Output::null:
      return UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    case Output::inherit:
      return UniqueFd(::fcntl(inherit_fd, F_DUPFD_CLOEXEC, 0));
    case Output::file: {
      UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
      if (!fd) return errno_error("cannot open output file " + file, errno).with("file", file);
      return fd;
    }
    case Output::capture: {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe", errno);
      parent_end.reset(p[0]);
      return UniqueFd(p[1]);
    }
  }
  return make_error(Errc::internal, "unknown output mode");
}

// write() to a pipe whose reader may be gone. A broken pipe must come back as EPIPE, not as a
// SIGPIPE that kills the whole daemon: block it for this thread around the write and consume
// the one the write raised (unless one was pending already, which is not ours to take).
ssize_t write_without_sigpipe(int fd, const void* data, size_t size) {
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigemptyset(&pending);
  ::sigpending(&pending);
  bool already_pending = sigismember(&pending, SIGPIPE) == 1;
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  ssize_t n = ::write(fd, data, size);
  int err = errno;
  if (n < 0 && err == EPIPE && !already_pending) {
    timespec zero{0, 0};
    while (::sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return n;
}

ExitStatus decode_wait_status(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
  return s;
}

}  // namespace

void to_json(nlohmann::json& j, const ProcessRecord& r) {
  j = nlohmann::json{{"pid", r.pid}, {"start_time", r.start_time}, {"argv", r.argv}};
}

void from_json(const nlohmann::json& j, ProcessRecord& r) {
  j.at("pid").get_to(r.pid);
  j.at("start_time").get_to(r.start_time);
  j.at("argv").get_to(r.argv);
}

std::string ExitStatus::describe() const {
  if (!known) return "exited (status unknown: adopted process)";
  if (signal != 0) return std::string("killed by signal ") + strsignal(signal);
  return "exited with code " + std::to_string(code);
}

std::optional<std::string> find_executable(const std::string& name) {
  auto usable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (usable(name)) return name;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (usable(candidate)) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

Result<Child> spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return make_error(Errc::invalid_argument, "spawn: empty argv");
  if (options.fds.size() > 64) return make_error(Errc::invalid_argument, "spawn: too many fds");
  for (const auto& m : options.fds) {
    if (m.parent_fd < 0 || m.child_fd < 0) {
      return make_error(Errc::invalid_argument, "spawn: negative fd in an fd mapping");
    }
  }
  for (const auto& e : options.env) {
    // Without '=' the key would be empty and match (and drop) every inherited variable.
    if (e.find('=') == std::string::npos || e.front() == '=') {
      return make_error(Errc::invalid_argument, "spawn: environment entry '" + e +
                                                    "' is not KEY=VALUE");
    }
  }
  auto path = find_executable(options.argv[0]);
  if (!path) {
    return make_error(Errc::unavailable,
                      "program not found or not executable: " + options.argv[0] +
                          " (install it or set its path in the config)")
        .with("binary", options.argv[0]);
  }

  ChildPlan plan;
  plan.path = *path;
  std::vector<std::string> argv = options.argv;
  for (auto& a : argv) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (char** e = environ; *e != nullptr; ++e) plan.env_storage.emplace_back(*e);
  std::vector<std::string> extra_env = options.env;
  if (!options.owner.empty()) extra_env.push_back(owner_mark(options.owner));
  for (const auto& e : extra_env) {
    auto key = e.substr(0, e.find('=') + 1);
    std::erase_if(plan.env_storage, [&](const std::string& s) { return s.starts_with(key); });
    plan.env_storage.push_back(e);
  }
  for (auto& e : plan.env_storage) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  plan.fds = options.fds;
  for (const auto& m : options.fds) {
    if (m.child_fd >= 3) plan.targets.push_back(m.child_fd);
  }
  std::sort(plan.targets.begin(), plan.targets.end());
  plan.targets.erase(std::unique(plan.targets.begin(), plan.targets.end()), plan.targets.end());
  plan.cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  plan.new_session = options.new_session;
  plan.kill_with_parent = options.kill_with_parent;
  for (const auto& p : options.readonly_paths) plan.readonly_paths.push_back(p.c_str());
  if (options.address_space_limit) {
    plan.limit_as = true;
    plan.as_limit.rlim_cur = plan.as_limit.rlim_max = static_cast<rlim_t>(*options.address_space_limit);
  }
  if (options.gid) {
    plan.set_gid = true;
    plan.gid = *options.gid;
  }
  if (options.uid) {
    plan.set_uid = true;
    plan.uid = *options.uid;
  }

  Child child;
  UniqueFd stdin_child;
  {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe", errno);
    child.stdin_.reset(p[1]);
    stdin_child.reset(p[0]);
  }
  auto stdout_child = SEED_TRY(open_output(options.stdout_mode, options.stdout_file, 1, child.stdout_));
  auto stderr_child = SEED_TRY(open_output(options.stderr_mode, options.stderr_file, 2, child.stderr_));
  plan.stdin_fd = stdin_child.get();
  plan.stdout_fd = stdout_child.get();
  plan.stderr_fd = stderr_child.get();

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return errno_error("pipe", errno);
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  plan.error_pipe = err_write.get();

  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork", errno);
  if (pid == 0) run_child(plan);

  err_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  child.pid_ = pid;
  if (n > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    Errc code = child_errno == ENOENT || child_errno == EACCES || child_errno == ENOEXEC
                    ? Errc::unavailable
                    : Errc::internal;
    return make_error(code, "cannot start " + options.argv[0] + ": " + std::strerror(child_errno))
        .with("binary", plan.path);
  }
  child.pidfd_.reset(pidfd_open(pid));
  if (!child.pidfd_) {
    // Without a pidfd the child cannot be watched: do not leave it running unsupervised.
    int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return errno_error("pidfd_open", err).with("binary", plan.path);
  }
  auto st = read_proc_stat(pid);
  child.record_ = ProcessRecord{pid, st ? st->start_time : 0, options.argv};
  return child;
}

Result<Child> adopt(const ProcessRecord& record) {
  auto gone = [&](std::string why) {
    return make_error(Errc::not_found, "process " + std::to_string(record.pid) + " " + why)
        .with("argv", join_argv(record.argv));
  };
  if (record.pid <= 0) return gone("has an invalid pid");
  UniqueFd pidfd(pidfd_open(record.pid));
  if (!pidfd) return gone("is gone");
  // Check identity after opening the pidfd: from here on the pid cannot be recycled under us.
  auto st = read_proc_stat(record.pid);
  if (!st || st->state == 'Z') return gone("is gone");
  if (st->start_time != record.start_time) return gone("was replaced (pid reused)");
  Child child;
  child.pid_ = record.pid;
  child.pidfd_ = std::move(pidfd);
  child.record_ = record;
  // A process we re-attach to after a restart is no longer our child, unless it was started
  // by this very process (the tests adopt their own children).
  child.adopted_ = st->ppid != ::getpid();
  return child;
}

bool Child::running() const {
  if (exit_ || !pidfd_) return false;
  pollfd p{pidfd_.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

Status Child::signal(int sig) const {
  if (!pidfd_) return make_error(Errc::not_found, "no process");
  if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) != 0) {
    if (errno == ESRCH) return ok();  // already gone: the caller's intent is met
    return errno_error("cannot signal process " + std::to_string(pid_), errno);
  }
  return ok();
}

Result<ExitStatus> Child::wait(std::optional<std::chrono::milliseconds> timeout) {
  if (exit_) return *exit_;
  if (!pidfd_) return make_error(Errc::not_found, "no process");
  auto deadline = timeout ? Clock::now() + *timeout : Clock::time_point::max();
  for (;;) {
    int wait_ms = -1;
    if (timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    pollfd p{pidfd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("poll pidfd", errno);
    if (r == 0) {
      return make_error(Errc::timeout, "process " + std::to_string(pid_) + " still running");
    }
    break;
  }
  if (adopted_) {
    exit_ = ExitStatus{false, 0, 0};
  } else {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    exit_ = r == pid_ ? decode_wait_status(status) : ExitStatus{false, 0, 0};
  }
  return *exit_;
}

ExitStatus Child::terminate(std::chrono::milliseconds grace) {
  if (exit_) return *exit_;
  (void)signal(SIGTERM);
  auto r = wait(grace);
  if (r) return *r;
  (void)signal(SIGKILL);
  r = wait(std::nullopt);
  return r ? *r : ExitStatus{false, 0, 0};
}

Result<RunResult> run(SpawnOptions options, const RunOptions& run_options) {
  options.stdout_mode = Output::capture;
  options.stderr_mode = Output::capture;
  auto child = SEED_TRY(spawn(options));
  RunResult result;
  std::string_view input = run_options.input;
  if (input.empty()) child.stdin_pipe().reset();
  if (child.stdin_pipe()) ::fcntl(child.stdin_pipe().get(), F_SETFL, O_NONBLOCK);

  auto deadline = Clock::now() + run_options.timeout;
  bool out_of_time = false;  // pipes still open at the deadline (maybe held by a grandchild)
  bool cancelled = false;
  char buf[65536];
  while (child.stdout_pipe() || child.stderr_pipe() || child.stdin_pipe()) {
    pollfd fds[4];
    int nfds = 0;
    auto add = [&](UniqueFd& fd, short events) {
      if (fd) fds[nfds++] = pollfd{fd.get(), events, 0};
    };
    add(child.stdout_pipe(), POLLIN);
    add(child.stderr_pipe(), POLLIN);
    add(child.stdin_pipe(), POLLOUT);
    if (run_options.cancel_fd >= 0) fds[nfds++] = pollfd{run_options.cancel_fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      out_of_time = true;
      break;
    }
    int r = ::poll(fds, static_cast<nfds_t>(nfds), static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("poll", errno);
    if (run_options.cancel_fd >= 0 && fds[nfds - 1].revents != 0) {
      cancelled = true;
      break;
    }
    for (int i = 0; i < nfds; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == child.stdin_pipe().get()) {
        ssize_t w = write_without_sigpipe(fds[i].fd, input.data(), input.size());
        if (w > 0) input.remove_prefix(static_cast<size_t>(w));
        if (w < 0 && errno != EAGAIN) input = {};
        if (input.empty()) child.stdin_pipe().reset();
        continue;
      }
      bool is_out = fds[i].fd == child.stdout_pipe().get();
      std::string& sink = is_out ? result.out : result.err;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        size_t room = run_options.max_output - std::min(run_options.max_output, sink.size());
        sink.append(buf, std::min(room, static_cast<size_t>(n)));
      } else if (n == 0 || errno != EINTR) {
        (is_out ? child.stdout_pipe() : child.stderr_pipe()).reset();
      }
    }
  }
  // The child's own process group, grandchildren too (the child is not reaped yet, so its pid
  // still names the group).
  auto kill_group = [&] {
    ::kill(-child.pid(), SIGKILL);
    (void)child.signal(SIGKILL);
    (void)child.wait(std::nullopt);
  };
  if (cancelled) {
    kill_group();
    return make_error(Errc::unavailable, options.argv[0] + " was cancelled before it finished")
        .with("binary", options.argv[0])
        .with("cancelled", "yes");
  }
  Result<ExitStatus> status = make_error(Errc::timeout, "deadline passed");
  if (!out_of_time) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    status = child.wait(std::max(left, std::chrono::milliseconds(0)));
  }
  if (!status) {
    // Also when the child itself has exited but something it started still holds its output
    // open: the deadline covers the whole group.
    kill_group();
    return make_error(Errc::timeout, options.argv[0] + " did not finish within " +
                                         std::to_string(run_options.timeout.count()) + " ms")
        .with("binary", options.argv[0])
        .with("stderr", result.err);
  }
  result.status = *status;
  return result;
}

Result<RunResult> run_checked(SpawnOptions options, const RunOptions& run_options) {
  auto argv0 = options.argv.empty() ? std::string() : options.argv[0];
  auto result = SEED_TRY(run(std::move(options), run_options));
  if (!result.status.success()) {
    return make_error(Errc::process_failed, argv0 + " " + result.status.describe())
        .with("binary", argv0)
        .with("stderr", result.err);
  }
  return result;
}

}  // namespace seed
