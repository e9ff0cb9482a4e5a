#include "sshcli/tenant_error.hpp"

#include <algorithm>
#include <array>

namespace seed::sshcli {
namespace {

constexpr std::array<std::string_view, 14> kTenantKeys{
    "stage", "hint", "repo", "source", "instance", "key", "size",
    "uri", "flake", "generation", "name", "line", "stderr", "retry_after_s"};

// Paths a tenant may see: the store (their own builds and sources) and the guest's side of the
// guest contract (docs/guest-contract.md).
constexpr std::array<std::string_view, 3> kVisiblePrefixes{"/nix/store/", "/seed/", "/run/seed/"};

constexpr std::string_view kPathEnd = " \t\r\n'\"`),;:]}>";
constexpr std::string_view kPathBefore = " \t\r\n'\"`(=,[{<";

bool visible(std::string_view path) {
  return std::any_of(kVisiblePrefixes.begin(), kVisiblePrefixes.end(),
                     [&](std::string_view p) { return path.starts_with(p); });
}

}  // namespace

std::string hide_node_paths(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char prev = i == 0 ? ' ' : text[i - 1];
    // "scheme://…" and the flake forms "path:/…", "file:/…"; not "SHA256:/73j…" (a key's
    // fingerprint is base64, which has slashes).
    std::string_view before = text.substr(0, i);
    bool url = text[i] == '/' && prev == ':' &&
               (text.substr(i).starts_with("//") || before.ends_with("path:") || before.ends_with("file:"));
    if (text[i] != '/' || (!url && kPathBefore.find(prev) == std::string_view::npos)) {
      out.push_back(text[i++]);
      continue;
    }
    if (url && text.substr(i).starts_with("//")) {
      out.append("//");
      i += 2;
      if (i >= text.size() || text[i] != '/') continue;  // a host follows (https://github.com/…): not ours
    }
    size_t end = text.find_first_of(kPathEnd, i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view path = text.substr(i, end - i);
    out.append(visible(path) || path == "/" ? path : "<node path>");
    i = end;
  }
  return out;
}

Error for_tenant(const Error& e) {
  Error out{e.code, hide_node_paths(e.message), {}};
  for (const auto& [key, value] : e.context) {
    if (std::find(kTenantKeys.begin(), kTenantKeys.end(), key) == kTenantKeys.end()) continue;
    out.context.emplace_back(key, hide_node_paths(value));
  }
  return out;
}

reconcile::SourceView for_tenant(reconcile::SourceView view) {
  auto hide = [](std::optional<reconcile::Failure>& f) {
    if (f) f->message = hide_node_paths(f->message);
  };
  hide(view.failure);
  for (auto& i : view.instances) hide(i.failure);
  for (auto& d : view.deploys) d.error = hide_node_paths(d.error);
  return view;
}

}  // namespace seed::sshcli
