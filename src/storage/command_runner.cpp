#include "storage/command_runner.hpp"

#include <chrono>

namespace seed::storage {

Result<RunResult> SystemRunner::run(const std::vector<std::string>& argv) {
  SpawnOptions options;
  options.argv = argv;
  options.stdout_mode = Output::capture;
  options.stderr_mode = Output::capture;
  options.kill_with_parent = true;
  // mkfs/resize2fs of a large volume and lvm on a busy host can take a while.
  RunOptions run_options;
  run_options.timeout = std::chrono::minutes(10);
  return seed::run(std::move(options), run_options);
}

Result<RunResult> run_or_fail(CommandRunner& runner, const std::vector<std::string>& argv,
                              const std::string& what) {
  RunResult r = SEED_TRY(runner.run(argv));
  if (!r.status.success()) {
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    return make_error(Errc::process_failed, what + " failed: " + argv[0] + " " +
                                                r.status.describe())
        .with("command", command)
        .with("stderr", r.err);
  }
  return r;
}

}  // namespace seed::storage
