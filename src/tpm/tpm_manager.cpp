#include "tpm/tpm_manager.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/crash_point.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/owned_processes.hpp"
#include "tpm/provision.hpp"
#include "tpm/state_backup.hpp"

namespace seed::tpm {
namespace {

namespace fs = std::filesystem;

SwtpmLaunch vm_launch(const TpmSettings& s, const TpmPaths& p) {
  SwtpmLaunch l;
  l.swtpm = s.swtpm;
  l.state_dir = p.state;
  l.ctrl_socket = p.ctrl_socket;
  l.log_file = p.log;
  l.terminate_on_disconnect = true;
  l.owner = s.run_root;
  return l;
}

// The pid of a process holding swtpm's own lock on a state directory (swtpm takes an fcntl
// write lock on <state>/.lock while it runs), if any.
std::optional<pid_t> swtpm_lock_holder(const std::string& state_dir) {
  const std::string path = state_dir + "/.lock";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_GETLK, &probe) != 0 || probe.l_type == F_UNLCK) return std::nullopt;
  return probe.l_pid;
}

}  // namespace

Status TpmManager::prepare_dirs(const TpmPaths& p) {
  std::error_code ec;
  fs::create_directories(p.dir, ec);
  if (!ec) fs::create_directories(p.run_dir, ec);
  if (ec) return tag(make_error(Errc::io, "cannot create vTPM directories: " + ec.message())
                         .with("path", p.dir),
                     p.instance);
  ::chmod(p.dir.c_str(), 0700);
  ::chmod(p.run_dir.c_str(), 0700);
  return ok();
}

Result<UniqueFd> TpmManager::lock(const TpmPaths& p) {
  std::string path = p.run_dir + "/vtpm.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return tag(errno_error("opening " + path, errno), p.instance);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      // Held by the swtpm of a running VM of the instance (it inherits the lock), by a check or
      // restore in progress, or by an swtpm a killed seedd started but never recorded.
      return tag(make_error(Errc::in_use, "the vTPM of instance " + p.instance +
                                              " is in use by another swtpm process: the one of "
                                              "its running VM, a check in progress, or one an "
                                              "earlier seedd left behind; its state was not "
                                              "changed")
                     .with("lock", path)
                     .with("hint", "if the instance is not running (`seedctl status`), restart seedd "
                                   "(systemctl restart seedd): it ends swtpm processes no instance "
                                   "record names; then `seedctl restart` the instance"),
                 p.instance);
    }
    return tag(errno_error("locking " + path, errno), p.instance);
  }
  return fd;
}

Error TpmManager::corrupt(const TpmPaths& p, Error cause) {
  // swtpm fails on a state another swtpm still holds: a process left behind (e.g. a health
  // run's swtpm whose seedd was killed), not damaged state. Our own per-instance lock is held
  // here, so it is not the swtpm of a running VM of ours.
  if (auto holder = swtpm_lock_holder(p.state)) {
    Error e = make_error(Errc::in_use, "the vTPM state of instance " + p.instance +
                                           " is held by a stray swtpm process (pid " + std::to_string(*holder) +
                                           ") that no VM uses, most likely left behind by a seedd that was "
                                           "killed; the state itself is intact and was not changed");
    e.context = cause.context;
    e.with("state", p.state)
        .with("pid", std::to_string(*holder))
        .with("hint", "restart seedd (systemctl restart seedd): it ends swtpm processes no instance record "
                      "names; then `seedctl restart` the instance");
    return tag(std::move(e), p.instance);
  }
  std::string what = has_backup(p)
      ? "A backup of its last good state exists; the node owner can restore it (the current "
        "state is kept aside, see docs/tpm.md)"
      : "There is no backup; moving its state away would give the instance a NEW TPM identity "
        "and make secrets encrypted to its old age recipient unreadable";
  Error e = make_error(Errc::conflict, "the vTPM state of instance " + p.instance +
                                           " is unusable (" + cause.message +
                                           "); it was not changed. " + what);
  e.context = cause.context;
  e.with("state", p.state).with("backup_available", has_backup(p) ? "yes" : "no");
  if (has_backup(p)) {
    e.with("backup", p.backup);
    e.with("hint", "no seedctl command repairs a vTPM state: the node owner restores the backup by hand "
                   "(docs/tpm.md, \"Unusable state\")");
  } else {
    e.with("hint", "no seedctl command repairs a vTPM state: the node owner decides by hand (docs/tpm.md, "
                   "\"Unusable state\")");
  }
  return tag(std::move(e), p.instance);
}

Result<TpmHealth> TpmManager::health_run(const TpmPaths& p) {
  SwtpmLaunch l;
  l.swtpm = settings_.swtpm;
  l.state_dir = p.state;
  l.server_socket = p.check_socket;
  l.ctrl_socket = p.check_socket + ".ctrl";  // where the swtpm TCTI looks for it
  l.log_file = p.run_dir + "/check.log";
  l.init_at_start = true;
  l.owner = settings_.run_root;
  l.kill_with_parent = true;
  ::unlink(l.log_file.c_str());
  auto child = start_swtpm(l);
  if (!child) {
    if (child.error().code == Errc::unavailable) return tag(std::move(child).error(), p.instance);
    return corrupt(p, std::move(child).error());
  }
  crash_point("tpm.check.spawned");
  auto health = check_health(p.check_socket);
  stop_swtpm(*child, l);
  if (!health) {
    Error e = std::move(health).error();
    if (auto log = read_file(l.log_file); log && !log->empty()) e.with("log", *log);
    return corrupt(p, std::move(e));
  }
  return health;
}

Result<RunningVtpm> TpmManager::start(const std::string& instance) {
  TpmPaths p = SEED_TRY(paths_for(settings_, instance));
  if (!find_executable(settings_.swtpm)) {
    return tag(make_error(Errc::unavailable,
                          "cannot start the vTPM of instance " + instance + ": swtpm (" +
                              settings_.swtpm + ") is not installed; install the Debian "
                              "packages swtpm and swtpm-tools")
                   .with("program", settings_.swtpm),
               instance);
  }
  SEED_TRY(prepare_dirs(p));
  UniqueFd held = SEED_TRY(lock(p));
  bool provisioned_now = false;
  if (!is_provisioned(p)) {
    if (fs::exists(p.state) || has_backup(p)) {
      // A state that existed once is gone or emptied: never paper over it with a new identity.
      return corrupt(p, make_error(Errc::not_found, "its state file is missing"));
    }
    SEED_TRY(provision(settings_, p));
    provisioned_now = true;
  }
  TpmHealth health = SEED_TRY(health_run(p));
  SEED_TRY(backup_state(p));
  SwtpmLaunch launch = vm_launch(settings_, p);
  launch.hold_fd = held.get();  // the child inherits the lock; our copy closes on return
  auto child = start_swtpm(launch);
  launch.hold_fd = -1;
  if (!child) return tag(std::move(child).error().with("stage", "tpm-start"), instance);
  // It holds the vTPM lock now, and only the caller's record (written after this returns)
  // names it: a restarted seedd ends it by its owner mark (end_strays).
  crash_point("tpm.vm.spawned");
  log::info("tpm.started", {{"instance", instance}, {"pid", static_cast<int>(child->pid())},
                            {"ek", health.ek_fingerprint}, {"ctrl", p.ctrl_socket}});
  return RunningVtpm(std::move(p), std::move(launch), std::move(*child), std::move(health),
                     provisioned_now);
}

Result<TpmHealth> TpmManager::check(const std::string& instance) {
  TpmPaths p = SEED_TRY(paths_for(settings_, instance));
  if (!is_provisioned(p)) {
    return tag(make_error(Errc::not_found, "instance " + instance + " has no vTPM yet"), instance);
  }
  SEED_TRY(prepare_dirs(p));
  UniqueFd held = SEED_TRY(lock(p));
  return health_run(p);
}

Result<std::string> TpmManager::restore_backup(const std::string& instance) {
  TpmPaths p = SEED_TRY(paths_for(settings_, instance));
  SEED_TRY(prepare_dirs(p));
  UniqueFd held = SEED_TRY(lock(p));
  return tpm::restore_backup(p);
}

std::vector<ProcessRecord> TpmManager::end_strays(const std::set<pid_t>& keep) {
  return seed::end_strays(settings_.run_root, keep);
}

Result<RunningVtpm> TpmManager::adopt(const std::string& instance, const ProcessRecord& record) {
  TpmPaths p = SEED_TRY(paths_for(settings_, instance));
  auto child = seed::adopt(record);
  if (!child) return tag(std::move(child).error(), instance);
  SwtpmLaunch launch = vm_launch(settings_, p);  // before p is moved from
  return RunningVtpm(std::move(p), std::move(launch), std::move(*child), TpmHealth{}, false);
}

}  // namespace seed::tpm
