// Reading Silo's bare repositories for the web view, in-process with libgit2 (no git process,
// no output parsing). Every name, ref and path given here has passed web_input's checks; still,
// nothing is looked up by building a filesystem path from a ref or a file path: refs resolve
// through the repository's ref database, files through its trees.
//
// Errors: Errc::not_found with a message fit for the public (no node paths); anything else is
// Errc::io carrying the path in its context, for seedd's log only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

struct git_repository;

namespace seed::api::silo_web {

struct RepoSummary {
  std::string name;
  std::string head_branch;   // the default branch's short name ("main"), "" when detached
  std::string last_summary;  // the default branch's newest commit: first line of its message
  int64_t last_time = 0;     // … and its committer time (unix seconds); 0 for an empty repository
};

struct TreeEntry {
  std::string name;
  enum class Kind { file, directory, link, submodule } kind = Kind::file;
  uint64_t size = 0;  // files only
};

struct CommitInfo {
  std::string id;       // full hex
  std::string summary;  // first line of the message
  std::string author;   // the author's name (no e-mail)
  int64_t time = 0;     // author time, unix seconds
};

struct Blob {
  uint64_t size = 0;
  std::string head;      // at most the first `max` bytes
  bool truncated = false;
  bool binary = false;   // a NUL byte in the first 8000 bytes (git's own heuristic)
};

class Repo {
 public:
  static Result<Repo> open(const std::string& root, const std::string& name);
  Repo(Repo&&) noexcept;
  Repo& operator=(Repo&&) noexcept;
  ~Repo();

  // The default branch's short name, or "" when HEAD is detached or names nothing yet.
  std::string head_branch() const;
  // A branch, tag or commit id (4-40 hex digits) to the commit it names. "HEAD" is the default
  // branch. Errc::not_found for an unknown ref or an empty repository.
  Result<std::string> resolve(const std::string& ref) const;
  // The entries of the directory at `path` ("" = the root) in `commit`, directories first.
  // Errc::not_found when the path does not exist or is not a directory.
  Result<std::vector<TreeEntry>> tree(const std::string& commit, const std::string& path) const;
  // The file at `path`; at most `max` bytes of it. Errc::not_found when absent or not a file.
  Result<Blob> blob(const std::string& commit, const std::string& path, uint64_t max) const;
  // Up to `n` commits reachable from `commit`, newest first.
  Result<std::vector<CommitInfo>> log(const std::string& commit, size_t n) const;

 private:
  Repo() = default;
  git_repository* repo_ = nullptr;
  std::string path_;
};

// Every repository under `root` (valid names only; Silo's half-made temporaries are skipped),
// sorted by name.
std::vector<RepoSummary> list_repos(const std::string& root);

// Which entry of a directory is its README: README.md, README.markdown, README, README.txt
// (case-insensitive, in that order); nullopt when none.
std::optional<std::string> readme_of(const std::vector<TreeEntry>& entries);

}  // namespace seed::api::silo_web
