// Owning handles for libgit2 objects: a unique_ptr whose deleter is the object's own
// git_*_free, so every early return frees what it took. Header-only: only modules that
// already link libgit2 (sshcli's Silo, api's Silo web view) include it.
#pragma once

#include <git2.h>

#include <memory>

namespace seed::git {

template <class T, void (*FreeFn)(T*)>
struct Free {
  void operator()(T* p) const { FreeFn(p); }
};

using RepoPtr = std::unique_ptr<git_repository, Free<git_repository, git_repository_free>>;
using ObjectPtr = std::unique_ptr<git_object, Free<git_object, git_object_free>>;
using ConfigPtr = std::unique_ptr<git_config, Free<git_config, git_config_free>>;
using RefPtr = std::unique_ptr<git_reference, Free<git_reference, git_reference_free>>;
using RefIterPtr = std::unique_ptr<git_reference_iterator, Free<git_reference_iterator, git_reference_iterator_free>>;
using TreePtr = std::unique_ptr<git_tree, Free<git_tree, git_tree_free>>;
using EntryPtr = std::unique_ptr<git_tree_entry, Free<git_tree_entry, git_tree_entry_free>>;
using CommitPtr = std::unique_ptr<git_commit, Free<git_commit, git_commit_free>>;
using WalkPtr = std::unique_ptr<git_revwalk, Free<git_revwalk, git_revwalk_free>>;
using OdbPtr = std::unique_ptr<git_odb, Free<git_odb, git_odb_free>>;
using BlobPtr = std::unique_ptr<git_blob, Free<git_blob, git_blob_free>>;

}  // namespace seed::git
