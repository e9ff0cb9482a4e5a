// The seam between a driver and the programs it runs (lvm, mkfs.ext4, resize2fs, losetup).
// Production uses SystemRunner (seed::run with an argv vector). Tests of the LVM driver replay
// recorded outputs of real lvm2 and check the exact argv built; tests of the file driver use
// the real programs, optionally wrapped to inject a concurrent event (a disk filling up).
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/process.hpp"

namespace seed::storage {

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs to completion. A non-zero exit is not an error here: drivers read lvm's stderr and
  // exit code to map them onto sentinel errors. Errc::unavailable when the program is missing.
  virtual Result<RunResult> run(const std::vector<std::string>& argv) = 0;
};

class SystemRunner final : public CommandRunner {
 public:
  Result<RunResult> run(const std::vector<std::string>& argv) override;
};

// Runs and turns a non-zero exit into Errc::process_failed with `what`, argv and stderr.
Result<RunResult> run_or_fail(CommandRunner& runner, const std::vector<std::string>& argv,
                              const std::string& what);

}  // namespace seed::storage
