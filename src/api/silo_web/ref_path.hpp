// Which part of "/<repo>/tree/<ref>/<path>" is the ref when refs may hold '/' ("feature/x"):
// the URL alone cannot tell "feature/x/src" from ref "feature" + path "x/src", so, as GitHub
// and cgit do, the longest leading run of whole segments that names a real branch, tag or
// commit of the repository is the ref and the rest is the path. Git refuses a branch "a" next
// to a branch "a/b", so the longest match is the only match among branches.
#pragma once

#include <string>

#include "api/silo_web/repo_reader.hpp"
#include "common/error.hpp"

namespace seed::api::silo_web {

struct RefAndPath {
  std::string ref;     // as named in the URL (passed ref_from_url)
  std::string commit;  // what it resolved to, full hex
  std::string rest;    // what follows the ref, not yet checked as a tree path ("" for none)
};

// Errc::invalid_argument when `ref_then_path` is empty or starts with no acceptable ref;
// Errc::not_found when no leading run of segments names a ref of `repo`.
Result<RefAndPath> split_ref(const Repo& repo, const std::string& ref_then_path);

}  // namespace seed::api::silo_web
