#include "vmm/vm_helpers.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/unix_socket.hpp"

namespace seed::vmm {

Result<Child> start_virtiofsd(const std::string& binary, const FsShare& share,
                              const VmPaths& paths) {
  auto listener = SEED_TRY(listen_unix(paths.fs_socket(share.tag)));
  SpawnOptions o;
  o.argv = {binary, "--fd=3", "-o", "source=" + share.host_path, "-o", "cache=always",
            "-o", "sandbox=namespace"};
  o.fds = {{listener.get(), 3}};
  o.stdout_mode = Output::file;
  o.stdout_file = paths.fs_log(share.tag);
  o.stderr_mode = Output::file;
  o.stderr_file = paths.fs_log(share.tag);
  if (share.read_only) o.readonly_paths = {share.host_path};
  o.owner = paths.owner;
  auto child = spawn(o);
  if (!child) {
    ::unlink(paths.fs_socket(share.tag).c_str());
    return std::move(child).error().with("share", share.tag).with("stage", "prepare");
  }
  return child;
}

Result<Child> start_console_logger(const std::string& binary, const VmPaths& paths,
                                   const ConsoleLogLimits& limits, LoggerStart start) {
  for (const auto& fifo : {paths.serial_fifo(), paths.log_fifo()}) {
    if (::mkfifo(fifo.c_str(), 0600) != 0 && errno != EEXIST) {
      return errno_error("cannot create FIFO", errno).with("file", fifo).with("stage", "prepare");
    }
  }
  SpawnOptions o;
  o.argv = {binary, paths.serial_fifo(), paths.console_log(), std::to_string(limits.max_bytes),
            std::to_string(limits.keep), paths.log_fifo(), paths.log_store(),
            start == LoggerStart::boot ? "boot" : "resume"};
  o.stderr_mode = Output::file;
  o.stderr_file = paths.dir + "/console-logger.log";
  o.owner = paths.owner;
  auto child = spawn(o);
  if (!child) return std::move(child).error().with("stage", "prepare");
  return child;
}

std::string file_tail(const std::string& path, size_t max_bytes) {
  auto text = read_file(path);
  if (!text) return "";
  return text->size() > max_bytes ? text->substr(text->size() - max_bytes) : *text;
}

std::string shell_word(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out = "$'";
  for (unsigned char c : bytes) {
    out += "\\x";
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out + "'";
}

std::string hotplugged_mount_command(const std::string& tag, const std::string& mount_point, bool read_only) {
  const std::string mount = "mount -t virtiofs -o " + std::string(read_only ? "ro " : "rw ") + shell_word(tag) +
                            " " + shell_word(mount_point);
  return "mkdir -p " + shell_word(mount_point) + " && i=0 && until " + mount +
         " 2>/dev/null; do i=$((i + 1)); [ $i -lt 300 ] || break; sleep 0.05; done && { [ $i -lt 300 ] || " +
         mount + "; }";
}

}  // namespace seed::vmm
