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
  // git's own ref-name rules (git check-ref-format), narrowed to characters that need no
  // quoting anywhere: each '/'-separated part is letters, digits, '.', '_' and '-', and can
  // never be read as an option or a path step.
  auto part_ok = [](std::string_view part) {
    return !part.empty() && part.front() != '.' && part.front() != '-' && !part.ends_with(".lock") &&
           std::all_of(part.begin(), part.end(), [](char c) {
             return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
           });
  };
  bool parts_ok = !segment.empty();
  for (size_t start = 0; parts_ok && start <= segment.size();) {
    size_t slash = segment.find('/', start);
    if (slash == std::string::npos) slash = segment.size();
    parts_ok = part_ok(std::string_view(segment).substr(start, slash - start));
    start = slash + 1;
  }
  if (!parts_ok || segment.size() > kMaxRefBytes || segment.find("..") != std::string::npos || segment.ends_with(".")) {
    return refused("'" + segment + "' is not a branch, tag or commit id this view can show (parts of letters, digits, "
                   "'.', '_' and '-' joined by '/', none starting with '.' or '-')");
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
