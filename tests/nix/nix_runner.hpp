// Runs Debian's nix (2.8) for the Nix-layer tests: argv only, a private HOME and nix config so
// a test never reads or writes the machine's nix settings, and the repository's source dir
// from SEED_SOURCE_DIR (set by meson).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/process.hpp"

namespace seed::nixtest {

// The repository root (SEED_SOURCE_DIR), or the current directory when unset.
std::string source_dir();

// A JSON file of the tree (expected metas); a discarded value when missing or invalid.
nlohmann::json read_json(const std::string& path);

// Extra environment for every nix run: flakes + nix-command on, no substituters, an empty
// build-users-group (builds run as the calling user), HOME = `home`.
std::vector<std::string> nix_env(const std::string& home);

struct NixRun {
  bool ok = false;       // exited 0
  std::string out;
  std::string err;       // nix's message (stderr)
  std::string command;   // for failure messages
};

// Runs `argv` (argv[0] = nix, nix-instantiate, ...) with nix_env(home). Errors only when the
// program cannot be started at all; a failing evaluation is a NixRun with ok = false.
Result<NixRun> run_nix(std::vector<std::string> argv, const std::string& home,
                       int timeout_s = 120);

// `nix-instantiate --eval --strict --json --readonly-mode FILE --argstr k v ...`, parsed.
// Fails (with nix's stderr) when the evaluation fails.
Result<nlohmann::json> eval_file_json(const std::string& file,
                                      const std::vector<std::pair<std::string, std::string>>& argstrs,
                                      const std::string& home);

}  // namespace seed::nixtest
