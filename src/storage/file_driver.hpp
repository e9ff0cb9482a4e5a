// The `file` backend, for hosts without a volume group: one sparse image file per volume in
// the image directory, formatted ext4, attached to a loop device and mounted under the mount
// root. Growing = a larger file, `losetup -c` so the loop device sees it, then resize2fs
// (online when mounted). The image directory's free space bounds every size up front.
#pragma once

#include <memory>
#include <string>

#include "storage/command_runner.hpp"
#include "storage/volume_driver.hpp"

namespace seed::storage {

struct FileDriverConfig {
  std::string image_dir;   // <name>.img files live here (persistent, never cleaned up)
  std::string mount_root;  // each volume is mounted at <mount_root>/<name>
  uint64_t min_size = 8ULL << 20;  // smaller ext4 filesystems are not worth having
};

class FileDriver final : public VolumeDriver {
 public:
  FileDriver(FileDriverConfig config, std::unique_ptr<CommandRunner> runner);

  VolumeDriverInfo info() const override;
  Status create(const VolumeId& id, uint64_t size_bytes) override;
  Status grow(const VolumeId& id, uint64_t size_bytes) override;
  Result<std::string> mount(const VolumeId& id) override;
  Status unmount(const VolumeId& id) override;
  Result<std::string> path(const VolumeId& id) const override;
  Result<bool> exists(const VolumeId& id) override;
  Result<std::vector<VolumeState>> list(const std::vector<VolumeId>& desired) override;
  Result<Usage> usage(const VolumeId& id) override;

  // The image file of a volume (for tests and `seedctl`).
  Result<std::string> image_path(const VolumeId& id) const;

 private:
  // Loop devices currently backed by `image` (normally zero or one).
  Result<std::vector<std::string>> loops_for(const std::string& image);
  Status detach_loops(const std::string& image);
  Result<uint64_t> image_size(const VolumeId& id, const std::string& image);

  FileDriverConfig config_;
  std::unique_ptr<CommandRunner> runner_;
};

}  // namespace seed::storage
