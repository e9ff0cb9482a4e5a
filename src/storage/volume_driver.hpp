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

// What a backend can do, so callers need no type switches.
struct DriverInfo {
  std::string name;              // "file", "lvm"
  bool online_grow = true;       // grow() works while mounted
  bool thin = false;             // space is allocated on write (sizes may exceed free space)
  uint64_t size_granularity = 1; // created sizes are rounded up to a multiple of this
  uint64_t min_size = 0;         // smallest volume create() accepts
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

  virtual DriverInfo info() const = 0;
  // Makes a new, empty ext4 volume of at least `size_bytes`. On any failure nothing is left.
  virtual Status create(const VolumeId& id, uint64_t size_bytes) = 0;
  // Grows the device and then the filesystem (online when mounted). Same size: no-op.
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
