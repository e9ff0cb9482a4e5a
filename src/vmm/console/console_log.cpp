#include "vmm/console/console_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <optional>
#include <thread>

namespace seed::vmm {

Result<ConsoleLogWriter> ConsoleLogWriter::open(std::string path, ConsoleLogLimits limits) {
  if (limits.max_bytes == 0) return make_error(Errc::invalid_argument, "console log max_bytes is 0");
  ConsoleLogWriter w(std::move(path), limits);
  SEED_TRY(w.reopen());
  return w;
}

Status ConsoleLogWriter::reopen() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_) return errno_error("cannot open console log " + path_, errno).with("file", path_);
  struct stat st {};
  size_ = ::fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return ok();
}

Status ConsoleLogWriter::rotate() {
  std::string oldest = path_ + "." + std::to_string(limits_.keep);
  ::unlink(oldest.c_str());
  for (unsigned i = limits_.keep; i > 1; --i) {
    std::string from = path_ + "." + std::to_string(i - 1);
    std::string to = path_ + "." + std::to_string(i);
    ::rename(from.c_str(), to.c_str());  // a missing older file is fine
  }
  if (limits_.keep == 0) ::unlink(path_.c_str());
  else ::rename(path_.c_str(), (path_ + ".1").c_str());
  return reopen();
}

Status ConsoleLogWriter::write(std::string_view data) {
  while (!data.empty()) {
    if (size_ >= limits_.max_bytes) SEED_TRY(rotate());
    size_t room = static_cast<size_t>(limits_.max_bytes - size_);
    size_t chunk = std::min(room, data.size());
    ssize_t n = ::write(fd_.get(), data.data(), chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("cannot write console log " + path_, errno).with("file", path_);
    }
    size_ += static_cast<uint64_t>(n);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<std::vector<std::string>> console_tail(const std::string& path, size_t lines) {
  std::deque<std::string> out;
  // The first line of the newer file read so far, which may continue a line begun in an older
  // file. nullopt when there is none (an empty line is a line).
  std::optional<std::string> carry;
  // Newest first: the current file, then .1, .2, ... until enough lines are collected.
  for (unsigned i = 0;; ++i) {
    std::string file = i == 0 ? path : path + "." + std::to_string(i);
    auto text = read_file(file);
    if (!text) {
      if (i == 0 && text.error().code != Errc::not_found) return std::move(text).error();
      if (i == 0) continue;
      break;
    }
    std::string content = *text + carry.value_or("");
    std::vector<std::string> file_lines;
    size_t start = 0;
    while (start < content.size()) {
      size_t nl = content.find('\n', start);
      if (nl == std::string::npos) nl = content.size();
      file_lines.push_back(content.substr(start, nl - start));
      start = nl + 1;
    }
    // The first line of this file may continue one from the older file.
    if (file_lines.empty()) carry.reset();
    else carry = file_lines.front();
    for (size_t j = file_lines.size(); j > 1 && out.size() < lines; --j) {
      out.push_front(file_lines[j - 1]);
    }
    if (out.size() >= lines) break;
  }
  if (out.size() < lines && carry) out.push_front(*carry);
  return std::vector<std::string>(out.begin(), out.end());
}

Status console_follow(const std::string& path, const std::function<void(std::string_view)>& on_data,
                      const std::function<bool()>& keep_going, std::chrono::milliseconds poll) {
  UniqueFd fd;
  ino_t inode = 0;
  auto open_current = [&](bool from_end) {
    fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (fd && ::fstat(fd.get(), &st) == 0) {
      inode = st.st_ino;
      if (from_end) ::lseek(fd.get(), 0, SEEK_END);
    }
  };
  open_current(true);
  char buf[16384];
  auto drain = [&] {
    bool read_any = false;
    if (!fd) return false;
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) {
      on_data(std::string_view(buf, static_cast<size_t>(n)));
      read_any = true;
    }
    return read_any;
  };
  while (keep_going()) {
    bool read_any = drain();
    // Rotated (or created after we started): finish the old file, then switch. The writer
    // may have appended its last bytes between the read above and the rotation, so read the
    // old file once more now that it can no longer grow.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (!fd || st.st_ino != inode)) {
      drain();
      open_current(false);
      continue;
    }
    if (!read_any) std::this_thread::sleep_for(poll);
  }
  return ok();
}

}  // namespace seed::vmm
