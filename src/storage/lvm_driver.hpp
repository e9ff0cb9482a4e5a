// The `lvm` backend: one logical volume per Seed volume in a configured volume group (thick,
// or thin in a configured thin pool), ext4 on top, mounted under the mount root. Everything
// goes through the `lvm` command line with JSON reports, behind the CommandRunner seam, so the
// exact argv and lvm's recorded answers can be tested on machines without device-mapper.
#pragma once

#include <memory>
#include <string>

#include "storage/command_runner.hpp"
#include "storage/lvm_report.hpp"
#include "storage/volume_driver.hpp"

namespace seed::storage {

struct LvmDriverConfig {
  std::string volume_group;
  std::string thin_pool;   // empty: thick LVs
  std::string mount_root;  // each volume is mounted at <mount_root>/<lv name>
  std::string lvm = "lvm";
  uint64_t min_size = 8ULL << 20;
};

class LvmDriver final : public VolumeDriver {
 public:
  LvmDriver(LvmDriverConfig config, std::unique_ptr<CommandRunner> runner);

  VolumeDriverInfo info() const override;
  Status create(const VolumeId& id, uint64_t size_bytes) override;
  Status grow(const VolumeId& id, uint64_t size_bytes) override;
  Result<std::string> mount(const VolumeId& id) override;
  Status unmount(const VolumeId& id) override;
  Result<std::string> path(const VolumeId& id) const override;
  Result<bool> exists(const VolumeId& id) override;
  Result<std::vector<VolumeState>> list(const std::vector<VolumeId>& desired) override;
  Result<Usage> usage(const VolumeId& id) override;

 private:
  Result<lvm::VgReport> volume_group();
  Result<std::vector<lvm::LvReport>> logical_volumes();
  // The LV of a volume; Errc::not_found when absent.
  Result<lvm::LvReport> find(const VolumeId& id);
  // Runs lvm with `args`; a failure is classified into a sentinel error.
  Result<RunResult> lvm(std::vector<std::string> args, const std::string& what);

  LvmDriverConfig config_;
  std::unique_ptr<CommandRunner> runner_;
};

}  // namespace seed::storage
