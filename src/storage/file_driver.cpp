#include "storage/file_driver.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/reverter.hpp"
#include "storage/filesystem.hpp"
#include "storage/size.hpp"

namespace seed::storage {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kBlock = 4096;
constexpr std::string_view kImageSuffix = ".img";

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

Error too_big(const VolumeId& id, uint64_t wanted, uint64_t free, const std::string& dir) {
  return tag(make_error(Errc::invalid_argument,
                        "volume " + id.display() + " needs " + format_size(wanted) +
                            " but only " + format_size(free) + " bytes are free in " + dir +
                            "; choose a smaller size or free space on the host")
                 .with("requested", std::to_string(wanted))
                 .with("free", std::to_string(free)),
             id);
}

Status fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return errno_error("fsync " + dir, errno);
  return ok();
}

}  // namespace

FileDriver::FileDriver(FileDriverConfig config, std::unique_ptr<CommandRunner> runner)
    : config_(std::move(config)), runner_(std::move(runner)) {}

// The image is sparse, but create() still checks sizes against free space: a tenant who was
// promised 10Gi must be able to write 10Gi.
VolumeDriverInfo FileDriver::info() const { return {"file"}; }

Result<std::string> FileDriver::image_path(const VolumeId& id) const {
  std::string name = SEED_TRY(encode(id));
  return config_.image_dir + "/" + name + std::string(kImageSuffix);
}

Result<std::string> FileDriver::path(const VolumeId& id) const {
  std::string name = SEED_TRY(encode(id));
  return config_.mount_root + "/" + name;
}

Result<bool> FileDriver::exists(const VolumeId& id) {
  std::string image = SEED_TRY(image_path(id));
  struct stat st {};
  if (::lstat(image.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      return tag(make_error(Errc::conflict, image + " exists but is not a regular file; move it "
                                                    "away by hand")
                     .with("path", image),
                 id);
    }
    return true;
  }
  if (errno == ENOENT) return false;
  return tag(errno_error("stat " + image, errno), id);
}

Result<uint64_t> FileDriver::image_size(const VolumeId& id, const std::string& image) {
  struct stat st {};
  if (::stat(image.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return tag(make_error(Errc::not_found, "volume " + id.display() + " does not exist"), id);
    }
    return tag(errno_error("stat " + image, errno), id);
  }
  return static_cast<uint64_t>(st.st_size);
}

Status FileDriver::create(const VolumeId& id, uint64_t size_bytes) {
  std::string image = SEED_TRY(image_path(id));
  if (size_bytes < config_.min_size) {
    return tag(make_error(Errc::invalid_argument, "volume " + id.display() + " of " +
                                                      format_size(size_bytes) +
                                                      " is too small; the minimum is " +
                                                      format_size(config_.min_size)),
               id);
  }
  uint64_t size = round_up(size_bytes, kBlock);
  if (SEED_TRY(exists(id))) {
    return tag(make_error(Errc::already_exists, "volume " + id.display() + " already exists")
                   .with("path", image),
               id);
  }
  std::error_code ec;
  fs::create_directories(config_.image_dir, ec);
  if (ec) {
    return tag(make_error(Errc::io, "cannot create image directory: " + ec.message())
                   .with("path", config_.image_dir),
               id);
  }
  uint64_t free = SEED_TRY(free_bytes(config_.image_dir));
  if (size > free) return too_big(id, size, free, config_.image_dir);

  // Built under a hidden name and renamed into place only when complete, so a crash or a full
  // disk never leaves something that looks like a volume. A stale partial is ours to replace.
  std::string partial = config_.image_dir + "/." + fs::path(image).filename().string() +
                        ".partial";
  ::unlink(partial.c_str());
  Reverter undo;
  {
    UniqueFd fd(::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return tag(errno_error("creating " + partial, errno).with("stage", "create"), id);
    undo.add([partial] { ::unlink(partial.c_str()); });
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
      return tag(errno_error("sizing " + partial, errno).with("stage", "create"), id);
    }
  }
  if (auto made = make_ext4(*runner_, partial); !made) {
    Error e = std::move(made).error();
    auto now_free = free_bytes(config_.image_dir);
    if ((now_free.ok() && *now_free == 0) || e.get("stderr").value_or("").find("space") != std::string_view::npos) {
      e.message = "the disk holding " + config_.image_dir + " ran full while creating volume " +
                  id.display() + "; nothing was kept. Free space on the host and retry (" +
                  e.message + ")";
      e.code = Errc::io;
    }
    return tag(std::move(e), id);
  }
  {
    UniqueFd fd(::open(partial.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd || ::fsync(fd.get()) != 0) return tag(errno_error("fsync " + partial, errno), id);
  }
  // RENAME_NOREPLACE: if a volume appeared meanwhile, it wins and stays untouched.
  if (::renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, image.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (err == EEXIST) {
      return tag(make_error(Errc::already_exists, "volume " + id.display() + " already exists"),
                 id);
    }
    return tag(errno_error("renaming " + partial + " to " + image, err), id);
  }
  undo.success();
  SEED_TRY(fsync_dir(config_.image_dir));
  log::info("volume.created", {{"driver", "file"}, {"volume", id.display()},
                               {"size", format_size(size)}, {"path", image}});
  return ok();
}

Result<std::vector<std::string>> FileDriver::loops_for(const std::string& image) {
  RunResult r = SEED_TRY(run_or_fail(
      *runner_, {"losetup", "--list", "--json", "--output", "NAME,BACK-FILE"}, "listing loop devices"));
  std::vector<std::string> out;
  if (r.out.find_first_not_of(" \n") == std::string::npos) return out;  // no loop devices
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (doc.is_discarded() || !doc.contains("loopdevices") || !doc["loopdevices"].is_array()) {
    return make_error(Errc::protocol, "cannot parse `losetup --list --json` output")
        .with("output", r.out.substr(0, 400));
  }
  for (const auto& dev : doc["loopdevices"]) {
    if (!dev.contains("name") || !dev.contains("back-file")) continue;
    if (!dev["back-file"].is_string() || !dev["name"].is_string()) continue;
    if (dev["back-file"].get<std::string>() == image) out.push_back(dev["name"].get<std::string>());
  }
  return out;
}

Status FileDriver::detach_loops(const std::string& image) {
  for (const auto& loop : SEED_TRY(loops_for(image))) {
    SEED_TRY(run_or_fail(*runner_, {"losetup", "--detach", loop}, "detaching " + loop));
  }
  return ok();
}

Status FileDriver::grow(const VolumeId& id, uint64_t size_bytes) {
  std::string image = SEED_TRY(image_path(id));
  uint64_t current = SEED_TRY(image_size(id, image));
  uint64_t size = round_up(size_bytes, kBlock);
  if (size < current) {
    return tag(make_error(Errc::cannot_shrink,
                          "volume " + id.display() + " is " + format_size(current) +
                              " and cannot shrink to " + format_size(size) +
                              "; volumes only grow (keep the size, or move the data to a new "
                              "volume)")
                   .with("current", std::to_string(current))
                   .with("requested", std::to_string(size)),
               id);
  }
  // Same size: only make sure the filesystem fills the device, which finishes a grow whose
  // filesystem step failed earlier (say, online resizing was not permitted).
  if (size > current) {
    uint64_t free = SEED_TRY(free_bytes(config_.image_dir));
    if (size - current > free) return too_big(id, size - current, free, config_.image_dir);
    if (::truncate(image.c_str(), static_cast<off_t>(size)) != 0) {
      return tag(errno_error("growing " + image, errno).with("stage", "grow"), id);
    }
  }
  std::string mount_point = SEED_TRY(path(id));
  std::vector<std::string> loops = SEED_TRY(loops_for(image));
  std::string device = image;
  for (const auto& loop : loops) {
    // The loop device keeps the old size until told to re-read its backing file.
    auto r = run_or_fail(*runner_, {"losetup", "--set-capacity", loop}, "resizing " + loop);
    if (!r) return tag(std::move(r).error().with("stage", "grow"), id);
    device = loop;
  }
  bool mounted = !loops.empty() && SEED_TRY(is_mount_point(mount_point));
  if (auto g = grow_ext4(*runner_, device, mounted); !g) {
    return tag(filesystem_lagging(std::move(g).error(), id, size, mounted), id);
  }
  log::info("volume.grown", {{"driver", "file"}, {"volume", id.display()},
                             {"from", format_size(current)}, {"to", format_size(size)}});
  return ok();
}

Result<std::string> FileDriver::mount(const VolumeId& id) {
  std::string image = SEED_TRY(image_path(id));
  SEED_TRY(image_size(id, image));  // not_found when absent
  std::string mount_point = SEED_TRY(path(id));
  if (SEED_TRY(is_mount_point(mount_point))) return mount_point;
  std::vector<std::string> loops = SEED_TRY(loops_for(image));
  Reverter undo;
  std::string loop;
  if (!loops.empty()) {
    loop = loops.front();
  } else {
    auto r = run_or_fail(*runner_, {"losetup", "--find", "--show", "--nooverlap", image},
                         "attaching a loop device");
    if (!r) return tag(std::move(r).error().with("stage", "mount"), id);
    loop = r->out.substr(0, r->out.find('\n'));
    undo.add([this, loop] { (void)runner_->run({"losetup", "--detach", loop}); });
  }
  if (auto m = mount_ext4(loop, mount_point); !m) {
    return tag(std::move(m).error().with("stage", "mount"), id);
  }
  undo.success();
  log::info("volume.mounted", {{"volume", id.display()}, {"device", loop}, {"path", mount_point}});
  return mount_point;
}

Status FileDriver::unmount(const VolumeId& id) {
  std::string image = SEED_TRY(image_path(id));
  std::string mount_point = SEED_TRY(path(id));
  if (auto u = unmount_path(mount_point); !u) return tag(std::move(u).error(), id);
  if (auto d = detach_loops(image); !d) return tag(std::move(d).error(), id);
  ::rmdir(mount_point.c_str());  // an empty directory only; best effort
  return ok();
}

Result<std::vector<VolumeState>> FileDriver::list(const std::vector<VolumeId>& desired) {
  std::set<VolumeId> wanted(desired.begin(), desired.end());
  std::vector<VolumeState> out;
  std::error_code ec;
  if (!fs::exists(config_.image_dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(config_.image_dir, ec)) {
    std::string file = entry.path().filename().string();
    if (file.empty() || file[0] == '.' || !entry.is_regular_file()) continue;
    if (file.size() <= kImageSuffix.size() ||
        file.compare(file.size() - kImageSuffix.size(), kImageSuffix.size(), kImageSuffix) != 0) {
      continue;
    }
    auto id = decode(file.substr(0, file.size() - kImageSuffix.size()));
    if (!id) {
      log::warn("volume.foreign_file", {{"path", entry.path().string()}});
      continue;
    }
    VolumeState s;
    s.id = *id;
    s.size_bytes = entry.file_size(ec);
    s.mount_path = SEED_TRY(path(*id));
    s.mounted = SEED_TRY(is_mount_point(s.mount_path));
    s.orphan = wanted.count(*id) == 0;
    out.push_back(std::move(s));
  }
  if (ec) return errno_error("listing " + config_.image_dir, ec.value());
  std::sort(out.begin(), out.end(),
            [](const VolumeState& a, const VolumeState& b) { return a.id < b.id; });
  return out;
}

Result<Usage> FileDriver::usage(const VolumeId& id) {
  std::string image = SEED_TRY(image_path(id));
  SEED_TRY(image_size(id, image));
  std::string mount_point = SEED_TRY(path(id));
  return mounted_volume_usage(id, mount_point);
}

}  // namespace seed::storage
