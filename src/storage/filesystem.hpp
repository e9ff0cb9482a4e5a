// The ext4-on-a-block-device steps both drivers share: make the filesystem, grow it, mount it
// under the mount root, find out whether it is mounted, unmount it, and measure usage and
// free space. mount(2)/umount2(2) are called directly (no `mount` program); mkfs.ext4,
// e2fsck and resize2fs come from e2fsprogs through the CommandRunner.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "storage/command_runner.hpp"
#include "storage/volume_driver.hpp"

namespace seed::storage {

Status make_ext4(CommandRunner& runner, const std::string& device);
// Online (resize2fs on the mounted device) or offline (e2fsck -f, then resize2fs).
Status grow_ext4(CommandRunner& runner, const std::string& device, bool mounted);

// Creates `mount_point` (and parents) and mounts `device` there with nosuid,nodev.
Status mount_ext4(const std::string& device, const std::string& mount_point);
// Errc::in_use when busy; succeeds when nothing is mounted there.
Status unmount_path(const std::string& mount_point);
// Whether something is mounted exactly at `mount_point`, from /proc/self/mountinfo.
Result<bool> is_mount_point(const std::string& mount_point);

// For a grow whose device step succeeded but whose filesystem step failed: says the device
// has `size` now and how to finish (offline, by calling grow again).
Error filesystem_lagging(Error e, const VolumeId& id, uint64_t size, bool mounted);

Result<Usage> filesystem_usage(const std::string& mount_point);
// usage() of both drivers: the filesystem's usage when the volume is mounted at
// `mount_point`, else Errc::conflict (usage is only known while mounted).
Result<Usage> mounted_volume_usage(const VolumeId& id, const std::string& mount_point);
// Bytes an unprivileged writer could still put on the filesystem holding `path`.
Result<uint64_t> free_bytes(const std::string& path);

}  // namespace seed::storage
