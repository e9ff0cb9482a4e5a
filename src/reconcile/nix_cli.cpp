#include "reconcile/nix_cli.hpp"

#include "common/process.hpp"
#include "common/log.hpp"
#include "vmm/vm_spec.hpp"

namespace seed::reconcile {
namespace {

constexpr size_t kMaxStderr = 16 * 1024;  // what is kept for `status`; nix traces can be huge

std::string strip_ansi(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && !(s[i] >= '@' && s[i] <= '~')) ++i;
      continue;
    }
    out += s[i];
  }
  return out;
}

std::string tail(const std::string& s, size_t n) { return s.size() <= n ? s : "…" + s.substr(s.size() - n); }

}  // namespace

std::string nix_error_summary(const std::string& stderr_text) {
  std::string clean = strip_ansi(stderr_text);
  std::string last;
  size_t start = 0;
  while (start < clean.size()) {
    size_t end = clean.find('\n', start);
    if (end == std::string::npos) end = clean.size();
    std::string line = clean.substr(start, end - start);
    size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos) {
      line = line.substr(first);
      if (line.starts_with("error:")) {
        // nix puts the message on the next line when the first holds only "error:".
        if (line == "error:" && end < clean.size()) {
          size_t next_end = clean.find('\n', end + 1);
          std::string next = clean.substr(end + 1, next_end == std::string::npos ? std::string::npos : next_end - end - 1);
          size_t nf = next.find_first_not_of(" \t");
          return "error: " + (nf == std::string::npos ? "" : next.substr(nf));
        }
        return line;
      }
      last = line;
    }
    start = end + 1;
  }
  return last;
}

Result<std::string> NixCli::run_nix(const std::vector<std::string>& subcommand, const std::vector<std::string>& args,
                                    const char* stage, const std::string& flake_ref, std::chrono::seconds timeout,
                                    bool cap_memory) const {
  SpawnOptions o;
  // Flake flags are accepted only after the whole subcommand: `nix flake metadata
  // --no-write-lock-file` works, `nix flake --no-write-lock-file metadata` is refused.
  o.argv = {settings_.binary};
  o.argv.insert(o.argv.end(), subcommand.begin(), subcommand.end());
  o.argv.insert(o.argv.end(), {"--extra-experimental-features", "nix-command flakes",
                               // A tenant's flake may not change how nix runs (substituters, sandbox, hooks).
                               "--option", "accept-flake-config", "false", "--no-write-lock-file"});
  if (!settings_.flake_registry.empty()) {
    o.argv.insert(o.argv.end(), {"--option", "flake-registry", settings_.flake_registry});
  }
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = settings_.env;
  o.stdout_mode = Output::capture;
  o.uid = settings_.uid;
  o.gid = settings_.gid;
  if (cap_memory) o.address_space_limit = settings_.eval_memory_bytes;
  RunOptions ro;
  ro.timeout = timeout;
  ro.cancel_fd = settings_.cancel_fd;
  auto started = std::chrono::steady_clock::now();
  auto r = run(o, ro);
  if (!r) {
    Error e = std::move(r).error();
    if (e.code == Errc::timeout) {
      e.message = std::string("nix ") + stage + " of " + flake_ref + " did not finish within " +
                  std::to_string(timeout.count()) + " s and was stopped; simplify the flake or raise the limit";
    }
    if (e.get("cancelled") == "yes") {  // cancel_fd: seedd is stopping
      e.message = std::string("nix ") + stage + " of " + flake_ref +
                  " was stopped: seedd is shutting down; the next seedd deploys the source again";
    }
    return std::move(e).with("stage", stage).with("flake", flake_ref);
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  log::info("nix.ran", {{"stage", stage}, {"flake", flake_ref}, {"ms", ms.count()}, {"status", r->status.describe()}});
  if (!r->status.success()) {
    std::string summary = nix_error_summary(r->err);
    if (summary.empty()) summary = "nix " + r->status.describe();
    return make_error(Errc::process_failed, std::string("nix ") + stage + " of " + flake_ref + " failed: " + summary)
        .with("stage", stage)
        .with("flake", flake_ref)
        .with("stderr", tail(strip_ansi(r->err), kMaxStderr));
  }
  return std::move(r->out);
}

Result<nlohmann::json> NixCli::eval_metas(const std::string& flake_ref) const {
  // tarball-ttl 0: every evaluation sees the source as it is now (a new commit on a branch,
  // a new GitHub release), not what nix fetched within the last hour.
  auto out = SEED_TRY(run_nix({"eval"}, {"--option", "tarball-ttl", "0", "--json", flake_ref + "#seeds", "--apply",
                               "builtins.mapAttrs (name: s: s.meta)"},
                              "eval", flake_ref, settings_.eval_timeout, true));
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Errc::protocol, "nix eval of " + flake_ref + " did not print a JSON object of instances")
        .with("stage", "eval")
        .with("flake", flake_ref)
        .with("stdout", tail(out, 2000));
  }
  return j;
}

Result<std::string> NixCli::build_toplevel(const std::string& flake_ref, const std::string& instance) const {
  // Spliced into an attribute path: only a DNS label may go there.
  if (!vmm::valid_vm_name(instance)) {
    return make_error(Errc::invalid_argument, "instance name '" + instance + "' is not a DNS label")
        .with("stage", "build")
        .with("flake", flake_ref);
  }
  auto out = SEED_TRY(run_nix({"build"}, {"--no-link", "--json", flake_ref + "#seeds." + instance + ".toplevel"},
                              "build", flake_ref, settings_.build_timeout, false));
  // nix 2.8 has no --print-out-paths: the JSON is [{"drvPath": ..., "outputs": {"out": ...}}].
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (!j.is_array() || j.empty() || !j[0].is_object() || !j[0].contains("outputs") ||
      !j[0]["outputs"].is_object() || !j[0]["outputs"].contains("out") || !j[0]["outputs"]["out"].is_string()) {
    return make_error(Errc::protocol, "nix build of " + instance + " did not report an output path")
        .with("stage", "build")
        .with("flake", flake_ref)
        .with("stdout", tail(out, 2000));
  }
  return j[0]["outputs"]["out"].get<std::string>();
}

Result<std::string> NixCli::source_path(const std::string& flake_ref) const {
  // tarball-ttl 0, as for eval: a key removed from .authorized_keys stops working once the
  // keys cache expires, not an hour later when nix would fetch the source again.
  auto out = SEED_TRY(run_nix({"flake", "metadata"}, {"--option", "tarball-ttl", "0", "--json", flake_ref}, "fetch",
                              flake_ref, settings_.eval_timeout, true));
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (!j.is_object() || !j.contains("path") || !j["path"].is_string()) {
    return make_error(Errc::protocol, "nix flake metadata of " + flake_ref + " did not report a path")
        .with("stage", "fetch")
        .with("stdout", tail(out, 2000));
  }
  return j["path"].get<std::string>();
}

Status NixCli::add_root(const std::string& store_path, const std::string& link) const {
  SEED_TRY(run_nix({"build"}, {"--out-link", link, store_path}, "boot", store_path, settings_.build_timeout, false));
  return {};
}

}  // namespace seed::reconcile
