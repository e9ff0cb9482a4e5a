#include "tpm/state_backup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "common/fd.hpp"
#include "common/log.hpp"

namespace seed::tpm {
namespace {

namespace fs = std::filesystem;

Status fsync_path(const std::string& path, bool directory) {
  UniqueFd fd(::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return errno_error("fsync " + path, errno);
  return ok();
}

// Copies the regular files of `from` (not swtpm's .lock) into a new directory `to`, durably.
Status copy_state(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directory(to, ec);
  if (ec) return make_error(Errc::io, "cannot create " + to + ": " + ec.message());
  ::chmod(to.c_str(), 0700);
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    std::string name = entry.path().filename().string();
    if (name == ".lock" || !entry.is_regular_file()) continue;
    fs::copy_file(entry.path(), to + "/" + name, fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error(Errc::io, "copying " + entry.path().string() + ": " + ec.message());
    SEED_TRY(fsync_path(to + "/" + name, false));
  }
  if (ec) return make_error(Errc::io, "reading " + from + ": " + ec.message());
  return fsync_path(to, true);
}

}  // namespace

bool has_backup(const TpmPaths& paths) { return fs::exists(paths.backup); }

Status backup_state(const TpmPaths& paths) {
  std::string fresh = paths.dir + "/.state.backup.new";
  if (auto c = copy_state(paths.state, fresh); !c) {
    std::error_code ec;
    fs::remove_all(fresh, ec);
    return tag(std::move(c).error().with("stage", "tpm-backup"), paths.instance);
  }
  if (fs::exists(paths.backup)) {
    if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, paths.backup.c_str(), RENAME_EXCHANGE) !=
        0) {
      return tag(errno_error("swapping in the new vTPM backup", errno), paths.instance);
    }
    std::error_code ec;
    fs::remove_all(fresh, ec);  // now the previous backup
  } else if (::rename(fresh.c_str(), paths.backup.c_str()) != 0) {
    return tag(errno_error("renaming the vTPM backup into place", errno), paths.instance);
  }
  SEED_TRY(fsync_path(paths.dir, true));
  log::debug("tpm.backed_up", {{"instance", paths.instance}, {"backup", paths.backup}});
  return ok();
}

Result<std::string> restore_backup(const TpmPaths& paths) {
  if (!has_backup(paths)) {
    return tag(make_error(Errc::not_found, "there is no vTPM backup for " + paths.instance)
                   .with("path", paths.backup),
               paths.instance);
  }
  std::string restoring = paths.dir + "/.state.restoring";
  if (auto c = copy_state(paths.backup, restoring); !c) {
    std::error_code ec;
    fs::remove_all(restoring, ec);
    return tag(std::move(c).error(), paths.instance);
  }
  std::string kept;
  if (fs::exists(paths.state)) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    kept = paths.state + ".replaced-" +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count());
    if (::rename(paths.state.c_str(), kept.c_str()) != 0) {
      return tag(errno_error("moving the current vTPM state aside", errno), paths.instance);
    }
  }
  if (::rename(restoring.c_str(), paths.state.c_str()) != 0) {
    return tag(errno_error("moving the restored vTPM state into place", errno), paths.instance);
  }
  SEED_TRY(fsync_path(paths.dir, true));
  log::warn("tpm.restored", {{"instance", paths.instance}, {"kept", kept}});
  return kept;
}

}  // namespace seed::tpm
