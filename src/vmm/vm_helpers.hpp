// The per-VM helper processes that run beside the VMM: one virtiofsd per share and one
// console logger. Each is a long-lived child recorded for re-adoption.
#pragma once

#include <string>

#include "common/process.hpp"
#include "vmm/console/console_log.hpp"
#include "vmm/vm_paths.hpp"
#include "vmm/vm_spec.hpp"

namespace seed::vmm {

// Binds the share's vhost-user socket and starts virtiofsd on it (`--fd`), so the socket is
// ready before the VMM connects. A read-only share is enforced by a read-only bind mount in
// virtiofsd's private mount namespace.
Result<Child> start_virtiofsd(const std::string& binary, const FsShare& share,
                              const VmPaths& paths);

// Whether a logger starts with its VM (it writes a boot marker into the log store) or
// replaces a dead logger of a VM that keeps running (no new boot).
enum class LoggerStart { boot, resume };

// Creates the serial and log-channel FIFOs if needed and starts the logger reading both. Must
// run before the VMM opens the FIFOs for writing.
Result<Child> start_console_logger(const std::string& binary, const VmPaths& paths,
                                   const ConsoleLogLimits& limits, LoggerStart start = LoggerStart::boot);

// The last `max_bytes` of a log file, for error reports ("" when unreadable).
std::string file_tail(const std::string& path, size_t max_bytes = 2000);

// The escaped word a guest's ash reads back as exactly `bytes` ($'\xHH…'), for scripts sent
// through the agent.
std::string shell_word(const std::string& bytes);

// A guest shell command that mounts a hot-plugged virtio-fs share at `mount_point`, retried for
// up to 15 s: the device's link under /sys/bus/virtio/drivers/virtiofs appears before the
// driver's probe has registered its tag (the kernel adds the link first), and a mount in that
// window fails with EINVAL ("tag not found"). The last try's error is the one shown.
std::string hotplugged_mount_command(const std::string& tag, const std::string& mount_point, bool read_only);

}  // namespace seed::vmm
