// UniqueFd: sole owner of a file descriptor; closes it on destruction.
#pragma once

#include <string>
#include <utility>

#include "common/error.hpp"

namespace seed {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Whole-file helpers used for small state and config files.
Result<std::string> read_file(const std::string& path);
// Writes to a temporary sibling, fsyncs, renames over `path`: readers see old or new, never half.
Status write_file_atomic(const std::string& path, std::string_view content, int mode = 0644);

}  // namespace seed
