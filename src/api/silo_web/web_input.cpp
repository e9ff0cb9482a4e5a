#include "api/silo_web/web_input.hpp"

#include <algorithm>
#include <cctype>

#include "common/silo_repo_name.hpp"

namespace seed::api::silo_web {
namespace {

Error refused(const std::string& what) {
  return make_error(Errc::invalid_argument, what).with("stage", "silo-web");
}

}  // namespace

Result<std::string> repo_from_url(const std::string& segment, bool git_url) {
  std::string name = segment;
  if (git_url && name.ends_with(".git")) name.resize(name.size() - 4);
  if (!is_silo_repo_name(name)) {
    return refused("'" + segment + "' is not a Silo repository name (names are " + std::string(kSiloRepoNameRule) +
                   ")");
  }
  return name;
}

Result<std::string> ref_from_url(const std::string& segment) {
  const bool chars_ok = std::all_of(segment.begin(), segment.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
  if (segment.empty() || segment.size() > 200 || !chars_ok || segment.front() == '.' || segment.front() == '-' ||
      segment.find("..") != std::string::npos || segment.ends_with(".lock") || segment.ends_with(".")) {
    return refused("'" + segment + "' is not a branch, tag or commit id this view can show (letters, digits, '.', "
                   "'_' and '-'; a ref with '/' in its name by its commit id)");
  }
  return segment;
}

Result<std::string> tree_path_from_url(std::string path) {
  if (path.ends_with("/")) path.pop_back();
  if (path.empty()) return path;
  if (path.size() > 4096) return refused("the path is longer than 4096 bytes");
  if (std::any_of(path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return refused("the path holds control characters");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string_view seg(path.data() + start, slash - start);
    if (seg.empty()) return refused("the path is absolute or holds an empty segment ('//')");
    if (seg == "." || seg == "..") return refused("the path holds a '" + std::string(seg) + "' segment");
    start = slash + 1;
  }
  return path;
}

}  // namespace seed::api::silo_web
