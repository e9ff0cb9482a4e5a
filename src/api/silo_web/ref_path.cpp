#include "api/silo_web/ref_path.hpp"

#include <vector>

#include "api/silo_web/web_input.hpp"

namespace seed::api::silo_web {

Result<RefAndPath> split_ref(const Repo& repo, const std::string& ref_then_path) {
  // Where a ref could end: at each '/' and at the end, never beyond the longest ref accepted
  // (so a 4 KiB path costs at most a few lookups per segment of its first 200 bytes).
  std::vector<size_t> ends;
  for (size_t i = 0; i <= ref_then_path.size() && i <= kMaxRefBytes; ++i) {
    if (i == ref_then_path.size() || ref_then_path[i] == '/') ends.push_back(i);
  }
  for (auto it = ends.rbegin(); it != ends.rend(); ++it) {
    const std::string candidate = ref_then_path.substr(0, *it);
    if (!ref_from_url(candidate)) continue;
    auto commit = repo.resolve(candidate);
    if (!commit) {
      if (commit.error().code == Errc::not_found) continue;
      return commit.error();
    }
    return RefAndPath{candidate, *commit, *it == ref_then_path.size() ? "" : ref_then_path.substr(*it + 1)};
  }
  const std::string first = ref_then_path.substr(0, ref_then_path.find('/'));
  if (auto checked = ref_from_url(first); !checked) return checked.error();
  return make_error(Errc::not_found, "no branch, tag or commit of this repository at the start of '" +
                                         ref_then_path.substr(0, kMaxRefBytes) + "'")
      .with("stage", "silo-web");
}

}  // namespace seed::api::silo_web
