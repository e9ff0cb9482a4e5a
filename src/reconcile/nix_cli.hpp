// Evaluating and building tenant flakes with the `nix` command line.
//
// One `nix eval --json <flake>#seeds --apply 'builtins.mapAttrs (n: s: s.meta)'` collects every
// instance's meta; `nix build --no-link --json <flake>#seeds.<name>.toplevel` builds each
// closure. Tenant flakes are untrusted: evaluation is pure (flakes always are), the flake's own
// nixConfig is never accepted, the address space is capped, a deadline kills the whole process
// group, and where the host runs a nix daemon the client runs as an unprivileged user.
// Failures are Errc::process_failed (or timeout) with stage `eval` or `build` and nix's own
// message, first error line in the message and the whole (bounded) stderr in the context.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace seed::reconcile {

struct NixSettings {
  std::string binary = "nix";
  std::chrono::seconds eval_timeout{300};
  std::chrono::seconds build_timeout{3600};
  uint64_t eval_memory_bytes = 4ull << 30;
  // Unprivileged client: set both on hosts with a nix daemon (NIX_REMOTE=daemon in env).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<std::string> env;  // extra KEY=VALUE for nix (NIX_REMOTE, HOME, NIX_CONFIG, ...)
  // A registry file (`--option flake-registry`) in place of nix's global one, which nix
  // otherwise downloads before it resolves any indirect input (`inputs.seed.url =
  // "flake:seed"`), and fails offline. The host module writes one naming the node's own Seed.
  std::string flake_registry;
  // Readable once seedd shuts down (the engine's eventfd): a running eval or build is killed
  // rather than waited for (a build may take an hour). -1: none.
  int cancel_fd = -1;
};

class NixCli {
 public:
  explicit NixCli(NixSettings settings) : settings_(std::move(settings)) {}

  // The `seeds` attribute of the flake, mapped to each instance's meta (not yet validated).
  Result<nlohmann::json> eval_metas(const std::string& flake_ref) const;
  // The toplevel store path of one instance. `instance` must be a DNS label.
  Result<std::string> build_toplevel(const std::string& flake_ref, const std::string& instance) const;
  // Makes `link` a garbage-collector root for `store_path` (an indirect root, like
  // `nix build --out-link`), so a running instance's closure cannot be collected under it.
  Status add_root(const std::string& store_path, const std::string& link) const;
  // The store path of the flake's source tree (`nix flake metadata --json`, stage "fetch").
  Result<std::string> source_path(const std::string& flake_ref) const;

 private:
  // `nix <subcommand...> <Seed's fixed flags> <args...>`.
  Result<std::string> run_nix(const std::vector<std::string>& subcommand, const std::vector<std::string>& args,
                              const char* stage, const std::string& flake_ref, std::chrono::seconds timeout,
                              bool cap_memory) const;
  NixSettings settings_;
};

// The first "error: ..." line of nix's stderr without colour codes, or its last line.
std::string nix_error_summary(const std::string& stderr_text);

}  // namespace seed::reconcile
