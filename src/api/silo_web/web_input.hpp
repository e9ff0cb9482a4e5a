// What Silo on the web accepts from a URL before anything is looked up: a repository name
// (Silo's one rule, common/silo_repo_name), a ref and a path inside a tree. The server has
// already percent-decoded the URL (so "%2e%2e" arrives as "..") and refused an encoded NUL.
// Each check returns the value or Errc::invalid_argument saying what was wrong: the routes
// answer every refusal with one 404 problem (nothing is served there), never a node path.
#pragma once

#include <cstddef>
#include <string>

#include "common/error.hpp"

namespace seed::api::silo_web {

// A repository named in a URL segment; with `git_url`, "name.git" is accepted too (clone URLs).
Result<std::string> repo_from_url(const std::string& segment, bool git_url = false);

// The longest ref a URL may name.
inline constexpr size_t kMaxRefBytes = 200;

// A branch, tag or commit id: '/'-separated parts ("feature/x") of letters, digits, '.', '_',
// '-', at most kMaxRefBytes, no part empty or starting with '.' or '-' (never an option to git,
// never a path step), no "..", no part ending in ".lock", not ending in ".".
Result<std::string> ref_from_url(const std::string& segment);

// A path inside a tree: "" (the root) or segments joined by '/', none empty, "." or "..",
// no control characters, at most 4096 bytes. A trailing '/' is dropped.
Result<std::string> tree_path_from_url(std::string path);

}  // namespace seed::api::silo_web
