// The narrow interface every volume backend implements (file images on loop devices, LVM
// logical volumes). Callers (the reconciler) branch on the sentinel error codes:
//   Errc::not_found      the volume does not exist
//   Errc::already_exists create() of a volume that is already there (nothing was touched)
//   Errc::in_use         unmount() while something still holds the filesystem open
//   Errc::cannot_shrink  grow() to a smaller size
//   Errc::invalid_argument bad identity, bad size, or a size beyond the free space
// No driver ever deletes a volume on its own: there is deliberately no remove() here. Orphans
// are reported by list() so the node owner decides.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "storage/volume_id.hpp"

namespace seed::storage {

// Which backend this is, for logs and `seedctl status`. It carries no capability flags on
// purpose: every backend must grow a mounted volume online (a volume is grown while the
// previous generation still runs on it during a rolling deploy), and size rules (minimum,
// rounding, thin over-commit) are each driver's own, enforced and reported by create() and
// grow(). A capability that changes what the engine does goes here once a caller reads it.
struct VolumeDriverInfo {
  std::string name;  // "file", "lvm"
};

struct VolumeState {
  VolumeId id;
  uint64_t size_bytes = 0;  // the block device's size
  bool mounted = false;
  std::string mount_path;   // where mount() puts it (whether or not it is mounted now)
  bool orphan = false;      // on disk but not in the desired set passed to list()
};

struct Usage {
  uint64_t size_bytes = 0;   // filesystem size
  uint64_t used_bytes = 0;
  uint64_t avail_bytes = 0;  // what the tenant can still write
};

class VolumeDriver {
 public:
  virtual ~VolumeDriver() = default;

  virtual VolumeDriverInfo info() const = 0;
  // Makes a new, empty ext4 volume of at least `size_bytes`. On any failure nothing is left.
  virtual Status create(const VolumeId& id, uint64_t size_bytes) = 0;
  // Grows the device and then the filesystem, online when mounted (every driver must: see
  // VolumeDriverInfo). Same size: no-op.
  virtual Status grow(const VolumeId& id, uint64_t size_bytes) = 0;
  // Mounts on the host under the mount root and returns that path; idempotent.
  virtual Result<std::string> mount(const VolumeId& id) = 0;
  // Idempotent; Errc::in_use when busy.
  virtual Status unmount(const VolumeId& id) = 0;
  // The host mount path for a volume (pure; the volume need not exist).
  virtual Result<std::string> path(const VolumeId& id) const = 0;
  virtual Result<bool> exists(const VolumeId& id) = 0;
  // Every Seed volume on the backend, sorted by identity; those not in `desired` are orphans.
  virtual Result<std::vector<VolumeState>> list(const std::vector<VolumeId>& desired) = 0;
  // Filesystem usage of a mounted volume (Errc::not_found if absent, Errc::conflict if not
  // mounted).
  virtual Result<Usage> usage(const VolumeId& id) = 0;
};

}  // namespace seed::storage
