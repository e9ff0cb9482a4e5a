#include "sshcli/access.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace seed::sshcli {
namespace {

std::string last_component(std::string_view path) {
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  while (path.ends_with("/")) path.remove_suffix(1);
  if (auto slash = path.rfind('/'); slash != std::string_view::npos) path = path.substr(slash + 1);
  if (path.ends_with(".git")) path.remove_suffix(4);
  return std::string(path);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string unique_alias(const std::string& canonical, const std::vector<ResolvedInstance>& among);

}  // namespace

std::vector<std::string> repo_aliases(std::string_view canonical) {
  std::vector<std::string> out{std::string(canonical)};
  if (canonical.starts_with("silo:")) {
    out.emplace_back(canonical.substr(5));
  } else if (canonical.starts_with("github:")) {
    std::string_view rest = canonical.substr(7);
    if (auto q = rest.find('?'); q != std::string_view::npos) rest = rest.substr(0, q);
    size_t first = rest.find('/');
    size_t second = first == std::string_view::npos ? first : rest.find('/', first + 1);
    std::string_view owner_repo = rest.substr(0, second);
    out.emplace_back(owner_repo);
    if (first != std::string_view::npos) out.emplace_back(owner_repo.substr(first + 1));
  } else {
    std::string last = last_component(canonical);
    if (!last.empty()) out.push_back(last);
  }
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// The shortest alias of `canonical` that names none of the other candidates.
std::string unique_alias(const std::string& canonical, const std::vector<ResolvedInstance>& among) {
  auto mine = repo_aliases(canonical);
  for (auto it = mine.rbegin(); it != mine.rend(); ++it) {
    bool clash = false;
    for (const auto& other : among) {
      if (other.source.record.canonical == canonical) continue;
      auto theirs = repo_aliases(other.source.record.canonical);
      clash = clash || std::find(theirs.begin(), theirs.end(), *it) != theirs.end();
    }
    if (!clash) return *it;
  }
  return canonical;
}

}  // namespace

Error owner_not_listed(const KeyIdentity& who, const std::string& canonical) {
  std::string name = canonical.substr(canonical.find(':') + 1);
  return make_error(Errc::permission_denied, canonical + " has no .authorized_keys listing your key " + who.fingerprint +
                                                 ": only keys listed there see and manage its instances")
      .with("source", canonical)
      .with("key", who.fingerprint)
      .with("stage", "access")
      .with("hint", "add your public key (" + who.type + " ...) as a line of .authorized_keys at the top of its "
                    "default branch, commit, and git push <node>:" + name + ".git (you own it, so the push is accepted)");
}

std::vector<reconcile::SourceView> Access::owned_unlisted(const KeyIdentity& who, const std::string& repo) {
  std::vector<reconcile::SourceView> out;
  auto all = service_.status(std::nullopt);
  if (!all) return out;
  for (auto& source : *all) {
    const std::string& canonical = source.record.canonical;
    if (!canonical.starts_with("silo:")) continue;
    if (!repo.empty()) {
      auto aliases = repo_aliases(canonical);
      if (std::find(aliases.begin(), aliases.end(), repo) == aliases.end()) continue;
    }
    auto owner = silo_.owner(canonical.substr(5));
    if (!owner || *owner != who.openssh()) continue;
    auto keys = silo_.authorized_keys(canonical.substr(5));
    if (keys && authorized_keys_list(*keys, who)) continue;
    out.push_back(std::move(source));
  }
  return out;
}

Result<std::string> Access::authorized_keys(const std::string& canonical) {
  if (canonical.starts_with("silo:")) return silo_.authorized_keys(canonical.substr(5));
  return service_.authorized_keys(canonical);
}

Result<std::vector<reconcile::SourceView>> Access::visible(const KeyIdentity& who, const std::string& repo) {
  auto all = SEED_TRY(service_.status(std::nullopt));
  std::vector<reconcile::SourceView> out;
  for (auto& source : all) {
    if (!repo.empty()) {
      auto aliases = repo_aliases(source.record.canonical);
      if (std::find(aliases.begin(), aliases.end(), repo) == aliases.end()) continue;
    }
    auto keys = authorized_keys(source.record.canonical);
    if (!keys) {
      // Without its key list nobody can be shown the source; the others are still listed.
      log::warn("sshcli.authorized_keys_unreadable", {{"source", source.record.canonical},
                                                      {"error", keys.error().describe()}});
      continue;
    }
    if (authorized_keys_list(*keys, who)) out.push_back(std::move(source));
  }
  if (repo.empty()) return out;
  if (out.empty()) {
    if (auto own = owned_unlisted(who, repo); !own.empty()) return owner_not_listed(who, own.front().record.canonical);
    return make_error(Errc::not_found, "none of your repos is called '" + repo + "'")
        .with("repo", repo)
        .with("hint", "`status` lists the repos whose .authorized_keys holds your key");
  }
  if (out.size() > 1) {
    std::vector<std::string> names;
    for (const auto& s : out) names.push_back(s.record.canonical);
    return make_error(Errc::invalid_argument, "'" + repo + "' names several of your repos: " + join(names))
        .with("repo", repo)
        .with("hint", "give the full source, e.g. `status " + names.front() + "`");
  }
  return out;
}

Result<ResolvedInstance> Access::resolve(const KeyIdentity& who, std::string_view target) {
  std::string repo;
  std::string name(target);
  if (auto slash = target.rfind('/'); slash != std::string_view::npos) {
    repo = std::string(target.substr(0, slash));
    name = std::string(target.substr(slash + 1));
  }
  if (name.empty()) {
    return make_error(Errc::invalid_argument, "'" + std::string(target) + "' names no instance")
        .with("hint", "use <instance> or <repo>/<instance>");
  }
  auto sources = SEED_TRY(visible(who, repo));
  std::vector<ResolvedInstance> found;
  for (const auto& s : sources) {
    for (const auto& i : s.instances) {
      if (i.id.name == name) found.push_back({s, i});
    }
  }
  if (found.empty()) {
    for (const auto& own : owned_unlisted(who, repo)) {
      for (const auto& i : own.instances) {
        if (i.id.name == name) return owner_not_listed(who, own.record.canonical);
      }
    }
    return make_error(Errc::not_found, "no instance '" + name + "' in " + (repo.empty() ? "your repos" : "repo '" + repo + "'"))
        .with("instance", std::string(target))
        .with("hint", "`status` lists your instances");
  }
  if (found.size() > 1) {
    std::vector<std::string> choices;
    for (const auto& f : found) choices.push_back(unique_alias(f.source.record.canonical, found) + "/" + name);
    return make_error(Errc::invalid_argument, "instance '" + name + "' is ambiguous: it exists in several of your repos")
        .with("instance", name)
        .with("hint", "say which one: " + join(choices));
  }
  return std::move(found.front());
}

}  // namespace seed::sshcli
