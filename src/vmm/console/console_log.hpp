// A VM's serial console, captured into a size-capped set of files:
//   console.log (current), console.log.1 (previous) ... console.log.<keep>.
// The writer (the seed-console-logger process, one per VM) rotates when the current file
// would pass max_bytes; readers take the last N lines across files and can follow new output
// through rotations.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace seed::vmm {

struct ConsoleLogLimits {
  uint64_t max_bytes = 1 << 20;  // per file
  unsigned keep = 3;             // rotated files kept besides the current one
};

class ConsoleLogWriter {
 public:
  static Result<ConsoleLogWriter> open(std::string path, ConsoleLogLimits limits);
  Status write(std::string_view data);

 private:
  ConsoleLogWriter(std::string path, ConsoleLogLimits limits)
      : path_(std::move(path)), limits_(limits) {}
  Status rotate();
  Status reopen();

  std::string path_;
  ConsoleLogLimits limits_;
  UniqueFd fd_;
  uint64_t size_ = 0;
};

// The last `lines` lines, oldest first, reading back through rotated files as needed.
Result<std::vector<std::string>> console_tail(const std::string& path, size_t lines);

// Calls `on_data` with output appended after the call starts, following rotations, until
// `keep_going` returns false (checked every poll interval). For `logs -f`.
Status console_follow(const std::string& path, const std::function<void(std::string_view)>& on_data,
                      const std::function<bool()>& keep_going,
                      std::chrono::milliseconds poll = std::chrono::milliseconds(100));

}  // namespace seed::vmm
