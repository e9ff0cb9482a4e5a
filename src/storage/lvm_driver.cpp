#include "storage/lvm_driver.hpp"

#include <algorithm>
#include <set>

#include "common/log.hpp"
#include "common/reverter.hpp"
#include "storage/filesystem.hpp"
#include "storage/size.hpp"

namespace seed::storage {
namespace {

const std::vector<std::string> kReportArgs = {"--reportformat", "json", "--units", "b",
                                              "--nosuffix"};

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

}  // namespace

LvmDriver::LvmDriver(LvmDriverConfig config, std::unique_ptr<CommandRunner> runner)
    : config_(std::move(config)), runner_(std::move(runner)) {}

// With a thin pool, create() lets sizes exceed the VG's free space (thin provisioning).
VolumeDriverInfo LvmDriver::info() const { return {config_.thin_pool.empty() ? "lvm" : "lvm-thin"}; }

Result<RunResult> LvmDriver::lvm(std::vector<std::string> args, const std::string& what) {
  args.insert(args.begin(), config_.lvm);
  RunResult r = SEED_TRY(runner_->run(args));
  if (!r.status.success()) {
    return lvm::classify_failure(r, what).with("volume_group", config_.volume_group);
  }
  return r;
}

Result<lvm::VgReport> LvmDriver::volume_group() {
  std::vector<std::string> args{"vgs"};
  args.insert(args.end(), kReportArgs.begin(), kReportArgs.end());
  args.insert(args.end(), {"--options", "vg_name,vg_size,vg_free,vg_extent_size",
                           config_.volume_group});
  RunResult r = SEED_TRY(lvm(args, "reading volume group " + config_.volume_group));
  auto vgs = SEED_TRY(lvm::parse_vgs(r.out));
  for (auto& vg : vgs) {
    if (vg.name == config_.volume_group) return vg;
  }
  return make_error(Errc::not_found, "volume group " + config_.volume_group +
                                         " is missing from lvm's report; check the configuration")
      .with("volume_group", config_.volume_group);
}

Result<std::vector<lvm::LvReport>> LvmDriver::logical_volumes() {
  std::vector<std::string> args{"lvs"};
  args.insert(args.end(), kReportArgs.begin(), kReportArgs.end());
  args.insert(args.end(), {"--options", "lv_name,vg_name,lv_size,lv_path,lv_attr,pool_lv",
                           config_.volume_group});
  RunResult r = SEED_TRY(lvm(args, "listing logical volumes in " + config_.volume_group));
  return lvm::parse_lvs(r.out);
}

Result<lvm::LvReport> LvmDriver::find(const VolumeId& id) {
  std::string name = SEED_TRY(encode(id));
  auto lvs = logical_volumes();
  if (!lvs) return tag(std::move(lvs).error(), id);
  for (auto& lv : *lvs) {
    if (lv.name == name) return lv;
  }
  return tag(make_error(Errc::not_found, "volume " + id.display() + " does not exist")
                 .with("lv", config_.volume_group + "/" + name),
             id);
}

Result<std::string> LvmDriver::path(const VolumeId& id) const {
  std::string name = SEED_TRY(encode(id));
  return config_.mount_root + "/" + name;
}

Result<bool> LvmDriver::exists(const VolumeId& id) {
  auto lv = find(id);
  if (lv) return true;
  if (lv.error().code == Errc::not_found && !lv.error().get("stderr")) return false;
  return std::move(lv).error();
}

Status LvmDriver::create(const VolumeId& id, uint64_t size_bytes) {
  std::string name = SEED_TRY(encode(id));
  if (size_bytes < config_.min_size) {
    return tag(make_error(Errc::invalid_argument,
                          "volume " + id.display() + " of " + format_size(size_bytes) +
                              " is too small; the minimum is " + format_size(config_.min_size)),
               id);
  }
  if (SEED_TRY(exists(id))) {
    return tag(make_error(Errc::already_exists, "volume " + id.display() + " already exists"), id);
  }
  auto vg = volume_group();
  if (!vg) return tag(std::move(vg).error(), id);
  uint64_t size = round_up(size_bytes, vg->extent_size);
  std::vector<std::string> args{"lvcreate", "--yes", "--addtag", "seed", "--name", name};
  if (config_.thin_pool.empty()) {
    if (size > vg->free) {
      return tag(make_error(Errc::invalid_argument,
                            "volume " + id.display() + " needs " + format_size(size) +
                                " but volume group " + vg->name + " has only " +
                                format_size(vg->free) + " bytes free; choose a smaller size or "
                                "extend the volume group")
                     .with("requested", std::to_string(size))
                     .with("free", std::to_string(vg->free)),
                 id);
    }
    // A fresh LV may sit on extents that held an old filesystem: wipe and zero its start.
    args.insert(args.end(), {"--wipesignatures", "y", "--zero", "y", "--size",
                             std::to_string(size) + "b", config_.volume_group});
  } else {
    args.insert(args.end(), {"--virtualsize", std::to_string(size) + "b", "--thinpool",
                             config_.thin_pool, config_.volume_group});
  }
  if (auto r = lvm(args, "creating logical volume " + name); !r) {
    return tag(std::move(r).error().with("stage", "create"), id);
  }
  // Only the LV this call just made may be removed, and only if it never got a filesystem.
  Reverter undo;
  undo.add([this, name] {
    (void)runner_->run({config_.lvm, "lvremove", "--yes", config_.volume_group + "/" + name});
  });
  std::string device = "/dev/" + config_.volume_group + "/" + name;
  if (auto made = make_ext4(*runner_, device); !made) return tag(std::move(made).error(), id);
  undo.success();
  log::info("volume.created", {{"driver", "lvm"}, {"volume", id.display()},
                               {"size", format_size(size)}, {"device", device}});
  return ok();
}

Status LvmDriver::grow(const VolumeId& id, uint64_t size_bytes) {
  lvm::LvReport lv = SEED_TRY(find(id));
  auto vg = volume_group();
  if (!vg) return tag(std::move(vg).error(), id);
  uint64_t size = round_up(size_bytes, vg->extent_size);
  if (size < lv.size) {
    return tag(make_error(Errc::cannot_shrink,
                          "volume " + id.display() + " is " + format_size(lv.size) +
                              " and cannot shrink to " + format_size(size) +
                              "; volumes only grow (keep the size, or move the data to a new "
                              "volume)")
                   .with("current", std::to_string(lv.size))
                   .with("requested", std::to_string(size)),
               id);
  }
  // Same size: only make sure the filesystem fills the LV (finishes an interrupted grow).
  if (size > lv.size) {
    if (config_.thin_pool.empty() && size - lv.size > vg->free) {
      return tag(make_error(Errc::invalid_argument,
                            "growing volume " + id.display() + " to " + format_size(size) +
                                " needs " + format_size(size - lv.size) +
                                " more but volume group " + vg->name + " has only " +
                                format_size(vg->free) + " bytes free"),
                 id);
    }
    if (auto r = lvm({"lvextend", "--size", std::to_string(size) + "b",
                      config_.volume_group + "/" + lv.name},
                     "extending logical volume " + lv.name);
        !r) {
      return tag(std::move(r).error().with("stage", "grow"), id);
    }
  }
  std::string mount_point = SEED_TRY(path(id));
  bool mounted = SEED_TRY(is_mount_point(mount_point));
  if (auto g = grow_ext4(*runner_, lv.path, mounted); !g) {
    return tag(filesystem_lagging(std::move(g).error(), id, size, mounted), id);
  }
  log::info("volume.grown", {{"driver", "lvm"}, {"volume", id.display()},
                             {"from", format_size(lv.size)}, {"to", format_size(size)}});
  return ok();
}

Result<std::string> LvmDriver::mount(const VolumeId& id) {
  lvm::LvReport lv = SEED_TRY(find(id));
  std::string mount_point = SEED_TRY(path(id));
  if (SEED_TRY(is_mount_point(mount_point))) return mount_point;
  if (auto m = mount_ext4(lv.path, mount_point); !m) {
    return tag(std::move(m).error().with("stage", "mount"), id);
  }
  return mount_point;
}

Status LvmDriver::unmount(const VolumeId& id) {
  std::string mount_point = SEED_TRY(path(id));
  if (auto u = unmount_path(mount_point); !u) return tag(std::move(u).error(), id);
  return ok();
}

Result<std::vector<VolumeState>> LvmDriver::list(const std::vector<VolumeId>& desired) {
  std::set<VolumeId> wanted(desired.begin(), desired.end());
  std::vector<VolumeState> out;
  for (const auto& lv : SEED_TRY(logical_volumes())) {
    auto id = decode(lv.name);
    if (!id) continue;  // not one of ours: other LVs in a shared VG are none of our business
    VolumeState s;
    s.id = *id;
    s.size_bytes = lv.size;
    s.mount_path = SEED_TRY(path(*id));
    s.mounted = SEED_TRY(is_mount_point(s.mount_path));
    s.orphan = wanted.count(*id) == 0;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const VolumeState& a, const VolumeState& b) { return a.id < b.id; });
  return out;
}

Result<Usage> LvmDriver::usage(const VolumeId& id) {
  SEED_TRY(find(id));
  std::string mount_point = SEED_TRY(path(id));
  return mounted_volume_usage(id, mount_point);
}

}  // namespace seed::storage
