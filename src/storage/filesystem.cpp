#include "storage/filesystem.hpp"

#include <errno.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/size.hpp"

namespace seed::storage {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out.push_back(static_cast<char>(v));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

Status make_ext4(CommandRunner& runner, const std::string& device) {
  // -F: a file is not a block device, mkfs would ask; -m 0: no root reserve, the whole
  // volume belongs to the tenant; nodiscard: discarding a fresh sparse file or LV is wasted work.
  auto r = run_or_fail(runner, {"mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard", device},
                       "making the ext4 filesystem");
  if (!r) return std::move(r).error().with("device", device).with("stage", "create");
  return ok();
}

Status grow_ext4(CommandRunner& runner, const std::string& device, bool mounted) {
  if (!mounted) {
    // resize2fs refuses an unmounted filesystem that was not checked since its last mount.
    auto check = runner.run({"e2fsck", "-f", "-p", device});
    if (!check) return std::move(check).error().with("device", device);
    // e2fsck: 0 = clean, 1 = errors corrected; anything else needs a human.
    if (!check->status.known || check->status.signal != 0 || check->status.code > 1) {
      return make_error(Errc::process_failed,
                        "checking the filesystem before growing it failed: e2fsck " +
                            check->status.describe() + "; run `e2fsck -f " + device +
                            "` by hand and retry")
          .with("device", device)
          .with("stderr", check->err + check->out);
    }
  }
  auto r = run_or_fail(runner, {"resize2fs", device}, "growing the ext4 filesystem");
  if (!r) return std::move(r).error().with("device", device).with("stage", "grow");
  return ok();
}

Status mount_ext4(const std::string& device, const std::string& mount_point) {
  std::error_code ec;
  std::filesystem::create_directories(mount_point, ec);
  if (ec) {
    return make_error(Errc::io, "cannot create mount point: " + ec.message())
        .with("path", mount_point);
  }
  if (::mount(device.c_str(), mount_point.c_str(), "ext4", MS_NOSUID | MS_NODEV, nullptr) != 0) {
    int err = errno;
    return errno_error("mounting " + device + " on " + mount_point, err)
        .with("device", device)
        .with("path", mount_point);
  }
  return ok();
}

Status unmount_path(const std::string& mount_point) {
  if (::umount2(mount_point.c_str(), UMOUNT_NOFOLLOW) == 0) return ok();
  int err = errno;
  if (err == EINVAL || err == ENOENT) return ok();  // not mounted (or no directory): done
  if (err == EBUSY) {
    return make_error(Errc::in_use, "the volume is still in use (a process has files open on " +
                                        mount_point + "); stop the VM or its virtiofsd first")
        .with("path", mount_point);
  }
  return errno_error("unmounting " + mount_point, err).with("path", mount_point);
}

Result<bool> is_mount_point(const std::string& mount_point) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return make_error(Errc::io, "cannot read /proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point;
    fields >> id >> parent >> devno >> root >> point;
    if (unescape_mountinfo(point) == mount_point) return true;
  }
  return false;
}

Error filesystem_lagging(Error e, const VolumeId& id, uint64_t size, bool mounted) {
  e.message = "volume " + id.display() + " now has " + format_size(size) +
              " but its filesystem was not grown" + (mounted ? " online" : "") + ": " +
              e.message + (mounted ? "; unmount the volume and call grow again to finish offline"
                                   : "; call grow again after fixing the cause");
  return e;
}

Result<Usage> mounted_volume_usage(const VolumeId& id, const std::string& mount_point) {
  if (!SEED_TRY(is_mount_point(mount_point))) {
    return tag(make_error(Errc::conflict, "volume " + id.display() +
                                              " is not mounted; usage is known only while mounted"),
               id);
  }
  return filesystem_usage(mount_point);
}

Result<Usage> filesystem_usage(const std::string& mount_point) {
  struct statvfs st {};
  if (::statvfs(mount_point.c_str(), &st) != 0) {
    return errno_error("statvfs " + mount_point, errno).with("path", mount_point);
  }
  Usage u;
  u.size_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  u.used_bytes = static_cast<uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
  u.avail_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  return u;
}

Result<uint64_t> free_bytes(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return errno_error("statvfs " + path, errno);
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace seed::storage
