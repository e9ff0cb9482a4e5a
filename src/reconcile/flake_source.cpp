#include "reconcile/flake_source.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <vector>

#include "common/digest.hpp"
#include "common/silo_repo_name.hpp"

namespace seed::reconcile {
namespace {

constexpr size_t kMaxUri = 1024;
constexpr std::string_view kAccepted =
    "accepted forms: silo:<name>, github:<owner>/<repo>[/<ref>], "
    "git+https://host/path, git+ssh://host/path, git+file:///absolute/path";

Error bad(std::string_view uri, const std::string& why) {
  return make_error(Errc::invalid_argument, "cannot plant '" + std::string(uri) + "': " + why)
      .with("uri", std::string(uri))
      .with("stage", "source")
      .with("hint", std::string(kAccepted));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_of_set(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

// nix's git and github fetchers take these attributes; anything else nix would refuse later,
// with a message that does not name the planted URI.
const std::set<std::string, std::less<>> kQueryKeys = {"ref", "rev", "dir", "submodules", "shallow"};

// "a=1&b=2" → sorted "a=1&b=2": the order of attributes does not change the source.
Result<std::string> canonical_query(std::string_view uri, std::string_view query) {
  if (query.empty()) return std::string();
  std::map<std::string, std::string> attrs;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(start, end - start);
    size_t eq = pair.find('=');
    if (pair.empty() || eq == std::string_view::npos || eq == 0) {
      return bad(uri, "query part '" + std::string(pair) + "' is not key=value");
    }
    std::string key(pair.substr(0, eq));
    if (!kQueryKeys.count(key)) {
      return bad(uri, "unsupported attribute '" + key + "' (supported: ref, rev, dir, submodules, shallow)");
    }
    std::string value(pair.substr(eq + 1));
    if (value.empty() || !all_of_set(value, "._-/+")) {
      return bad(uri, "attribute '" + key + "' has an empty or unsafe value");
    }
    if (!attrs.emplace(key, value).second) return bad(uri, "attribute '" + key + "' is given twice");
    start = end + 1;
  }
  std::string out;
  for (const auto& [k, v] : attrs) out += (out.empty() ? "?" : "&") + k + "=" + v;
  return out;
}

Result<FlakeSource> parse_silo(std::string_view uri, std::string_view rest, const std::string& silo_root) {
  std::string name(rest);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".git") == 0) name.resize(name.size() - 4);
  // The same rule Silo uses for repository names: a safe single path component.
  if (!is_silo_repo_name(name)) return bad(uri, "Silo repository name must be " + std::string(kSiloRepoNameRule));
  FlakeSource s;
  s.kind = SourceKind::silo;
  s.canonical = "silo:" + name;
  s.nix_ref = "git+file://" + silo_root + "/" + name + ".git";
  return s;
}

Result<FlakeSource> parse_github(std::string_view uri, std::string_view rest) {
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t end = rest.find('/', start);
    if (end == std::string_view::npos) end = rest.size();
    parts.push_back(rest.substr(start, end - start));
    start = end + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) return bad(uri, "expected github:<owner>/<repo>[/<ref>]");
  std::string_view owner = parts[0], repo = parts[1];
  if (owner.empty() || owner.size() > 39 || !all_of_set(owner, "-") || owner.front() == '-') {
    return bad(uri, "GitHub owner '" + std::string(owner) + "' is not a valid account name");
  }
  if (repo.empty() || repo.size() > 100 || !all_of_set(repo, "-_.") || repo == "." || repo == "..") {
    return bad(uri, "GitHub repository '" + std::string(repo) + "' is not a valid repository name");
  }
  std::string canonical = "github:" + lower(owner) + "/" + lower(repo);  // GitHub ignores case
  if (parts.size() == 3) {
    if (parts[2].empty() || !all_of_set(parts[2], "-_.+")) {
      return bad(uri, "ref '" + std::string(parts[2]) + "' is empty or unsafe");
    }
    canonical += "/" + std::string(parts[2]);  // branch names are case-sensitive: kept as given
  }
  canonical += SEED_TRY(canonical_query(uri, query));
  FlakeSource s;
  s.kind = SourceKind::github;
  s.canonical = canonical;
  s.nix_ref = canonical;
  return s;
}

Result<FlakeSource> parse_git(std::string_view uri) {
  std::string_view rest = uri.substr(4);  // after "git+"
  size_t scheme_end = rest.find("://");
  if (scheme_end == std::string_view::npos) return bad(uri, "missing '://' after the scheme");
  std::string scheme = lower(rest.substr(0, scheme_end));
  if (scheme != "https" && scheme != "http" && scheme != "ssh" && scheme != "file") {
    return bad(uri, "scheme 'git+" + scheme + "' is not supported");
  }
  rest = rest.substr(scheme_end + 3);
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string path(slash == std::string_view::npos ? "" : rest.substr(slash));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.empty() || path == "/") return bad(uri, "the URI names no repository path");
  if (path.find("/../") != std::string::npos || path.find("/./") != std::string::npos ||
      path.ends_with("/..") || path.ends_with("/.")) {
    return bad(uri, "the path holds '.' or '..' components");
  }
  if (!all_of_set(path, "/-_.~+%:@")) return bad(uri, "the path holds characters nix would not accept");
  std::string host;
  if (scheme == "file") {
    if (!authority.empty()) return bad(uri, "git+file URIs take no host: git+file:///absolute/path");
  } else {
    if (authority.find('@') != std::string_view::npos && scheme != "ssh") {
      // Stored and shown by `status`: credentials do not belong in a planted URI.
      return bad(uri, "credentials in the URI would be stored and shown; configure access on the node instead");
    }
    if (authority.empty() || !all_of_set(authority, "-.:@_")) return bad(uri, "the host is missing or malformed");
    host = lower(authority);
  }
  FlakeSource s;
  s.kind = SourceKind::git;
  s.canonical = "git+" + scheme + "://" + host + path + SEED_TRY(canonical_query(uri, query));
  s.nix_ref = s.canonical;
  return s;
}

}  // namespace

std::string namespace_of(std::string_view canonical) {
  Sha256 d = sha256(canonical);
  return "s-" + base32_lower(d.data(), d.size()).substr(0, 12);
}

Result<FlakeSource> parse_flake_source(std::string_view uri, const std::string& silo_root) {
  if (uri.empty()) return bad(uri, "the URI is empty");
  if (uri.size() > kMaxUri) return bad(uri.substr(0, 64), "the URI is longer than 1024 bytes");
  for (char c : uri) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return bad(uri, "the URI holds whitespace, control or non-ASCII characters");
    }
  }
  if (uri.find('#') != std::string_view::npos) {
    return bad(uri, "a '#' output selector is not allowed: seed always evaluates the flake's 'seeds'");
  }
  // URI schemes are case-insensitive (RFC 3986).
  const std::string scheme = lower(uri.substr(0, uri.find(':')));
  Result<FlakeSource> parsed = [&]() -> Result<FlakeSource> {
    if (scheme == "silo") return parse_silo(uri, uri.substr(5), silo_root);
    if (scheme == "github") return parse_github(uri, uri.substr(7));
    if (scheme.starts_with("git+")) return parse_git(uri);
    return bad(uri, "unknown source type");
  }();
  if (!parsed) return parsed;
  parsed->ns = namespace_of(parsed->canonical);
  return parsed;
}

}  // namespace seed::reconcile
