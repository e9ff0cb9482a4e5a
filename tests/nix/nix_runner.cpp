#include "nix_runner.hpp"

#include <stdlib.h>

#include "common/fd.hpp"

namespace seed::nixtest {

nlohmann::json read_json(const std::string& path) {
  auto text = read_file(path);
  if (!text) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(*text, nullptr, false);
}

std::string source_dir() {
  const char* dir = ::getenv("SEED_SOURCE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : ".";
}

std::vector<std::string> nix_env(const std::string& home) {
  // NIX_CONFIG replaces nothing in /etc/nix/nix.conf but wins over it; together with
  // NIX_USER_CONF_FILES pointing nowhere, the run does not depend on the machine's settings.
  return {
      "HOME=" + home,
      "XDG_CACHE_HOME=" + home + "/.cache",
      "NIX_USER_CONF_FILES=" + home + "/nix.conf",
      "NIX_CONFIG=experimental-features = nix-command flakes\n"
      "build-users-group =\n"
      "substituters =\n"
      "sandbox = true\n"
      "warn-dirty = false\n",
  };
}

Result<NixRun> run_nix(std::vector<std::string> argv, const std::string& home, int timeout_s) {
  NixRun r;
  for (const auto& a : argv) r.command += (r.command.empty() ? "" : " ") + a;
  SpawnOptions opts;
  opts.argv = std::move(argv);
  opts.env = nix_env(home);
  opts.stdout_mode = Output::capture;
  opts.stderr_mode = Output::capture;
  opts.kill_with_parent = true;
  RunOptions ro;
  ro.timeout = std::chrono::seconds(timeout_s);
  auto res = run(std::move(opts), ro);
  if (!res) {
    return std::move(res).error().with(
        "hint", "install Debian's nix-bin (scripts/install-deps) to run the Nix-layer tests");
  }
  r.ok = res->status.success();
  r.out = std::move(res->out);
  r.err = std::move(res->err);
  return r;
}

Result<nlohmann::json> eval_file_json(const std::string& file,
                                      const std::vector<std::pair<std::string, std::string>>& argstrs,
                                      const std::string& home) {
  std::vector<std::string> argv = {"nix-instantiate", "--eval", "--strict", "--json",
                                   "--readonly-mode", file};
  for (const auto& [k, v] : argstrs) {
    argv.insert(argv.end(), {"--argstr", k, v});
  }
  auto r = SEED_TRY(run_nix(std::move(argv), home));
  if (!r.ok) {
    return make_error(Errc::process_failed, "nix evaluation failed: " + r.command + "\n" + r.err);
  }
  auto json = nlohmann::json::parse(r.out, nullptr, false);
  if (json.is_discarded()) {
    return make_error(Errc::invalid_argument, "nix printed no JSON: " + r.command + "\n" + r.out);
  }
  return json;
}

}  // namespace seed::nixtest
