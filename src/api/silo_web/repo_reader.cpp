#include "api/silo_web/repo_reader.hpp"

#include <git2.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "common/git_handles.hpp"
#include "common/silo_repo_name.hpp"

namespace seed::api::silo_web {
namespace {

using git::ObjectPtr;
using git::RefPtr;
using git::TreePtr;
using git::EntryPtr;
using git::CommitPtr;
using git::WalkPtr;

// libgit2 is reference-counted: one init per process use, kept for the process's lifetime
// (the web view can be asked at any time while seedd runs).
void init_libgit2() {
  static const int once = git_libgit2_init();
  (void)once;
}

Error io_error(const std::string& what, const std::string& path) {
  const ::git_error* e = git_error_last();
  return make_error(Errc::io, what + (e && e->message ? std::string(": ") + e->message : std::string()))
      .with("path", path)
      .with("stage", "silo-web");
}

Error missing(const std::string& what) { return make_error(Errc::not_found, what).with("stage", "silo-web"); }

Result<git_oid> parse_oid(const std::string& hex) {
  git_oid oid;
  if (git_oid_fromstr(&oid, hex.c_str()) != 0) return missing("no such commit");
  return oid;
}

std::string first_line(const char* message) {
  std::string s = message != nullptr ? message : "";
  if (size_t nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

Result<Repo> Repo::open(const std::string& root, const std::string& name) {
  init_libgit2();
  const std::string path = root + "/" + name + ".git";
  std::error_code ec;
  if (!is_silo_repo_name(name) || !std::filesystem::is_directory(path, ec)) {
    return missing("no Silo repository '" + name + "'");
  }
  Repo r;
  r.path_ = path;
  if (git_repository_open_bare(&r.repo_, path.c_str()) != 0) return io_error("cannot open the repository", path);
  return r;
}

Repo::Repo(Repo&& o) noexcept : repo_(std::exchange(o.repo_, nullptr)), path_(std::move(o.path_)) {}
Repo& Repo::operator=(Repo&& o) noexcept {
  std::swap(repo_, o.repo_);
  std::swap(path_, o.path_);
  return *this;
}
Repo::~Repo() {
  if (repo_ != nullptr) git_repository_free(repo_);
}

std::string Repo::head_branch() const {
  git_reference* raw = nullptr;
  if (git_reference_lookup(&raw, repo_, "HEAD") != 0) return "";
  RefPtr head(raw);
  if (git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC) return "";
  std::string target = git_reference_symbolic_target(head.get());
  return target.starts_with("refs/heads/") ? target.substr(11) : "";
}

Result<std::string> Repo::resolve(const std::string& ref) const {
  git_object* raw = nullptr;
  int rc = -1;
  if (ref == "HEAD") {
    rc = git_revparse_single(&raw, repo_, "HEAD");
  } else {
    for (const char* prefix : {"refs/heads/", "refs/tags/"}) {
      git_reference* r = nullptr;
      if (git_reference_lookup(&r, repo_, (prefix + ref).c_str()) != 0) continue;
      RefPtr owned(r);
      rc = git_reference_peel(&raw, owned.get(), GIT_OBJECT_COMMIT);
      break;
    }
    if (rc != 0 && ref.size() >= 4 && ref.size() <= GIT_OID_HEXSZ && is_hex(ref)) {
      git_oid oid;
      if (git_oid_fromstrn(&oid, ref.c_str(), ref.size()) == 0) {
        rc = git_object_lookup_prefix(&raw, repo_, &oid, ref.size(), GIT_OBJECT_ANY);
      }
    }
  }
  if (rc != 0) return missing(ref == "HEAD" ? "the repository is empty" : "no branch, tag or commit '" + ref + "'");
  ObjectPtr obj(raw);
  git_object* peeled = nullptr;
  if (git_object_peel(&peeled, obj.get(), GIT_OBJECT_COMMIT) != 0) return missing("'" + ref + "' names no commit");
  ObjectPtr commit(peeled);
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, git_object_id(commit.get()));
  return std::string(hex);
}

Result<std::vector<TreeEntry>> Repo::tree(const std::string& commit, const std::string& path) const {
  const git_oid oid = SEED_TRY(parse_oid(commit));
  git_commit* c = nullptr;
  if (git_commit_lookup(&c, repo_, &oid) != 0) return missing("no such commit");
  CommitPtr owned_commit(c);
  git_tree* root = nullptr;
  if (git_commit_tree(&root, c) != 0) return io_error("cannot read a commit's tree", path_);
  TreePtr tree(root);
  if (!path.empty()) {
    git_tree_entry* e = nullptr;
    if (git_tree_entry_bypath(&e, root, path.c_str()) != 0) return missing("no directory '" + path + "'");
    EntryPtr entry(e);
    if (git_tree_entry_type(e) != GIT_OBJECT_TREE) return missing("'" + path + "' is not a directory");
    git_tree* sub = nullptr;
    if (git_tree_lookup(&sub, repo_, git_tree_entry_id(e)) != 0) return io_error("cannot read a tree", path_);
    tree.reset(sub);
  }
  git_odb* odb_raw = nullptr;
  if (git_repository_odb(&odb_raw, repo_) != 0) return io_error("cannot open the object database", path_);
  git::OdbPtr odb(odb_raw);
  std::vector<TreeEntry> out;
  for (size_t i = 0, n = git_tree_entrycount(tree.get()); i < n; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(tree.get(), i);
    TreeEntry t;
    t.name = git_tree_entry_name(e);
    switch (git_tree_entry_filemode(e)) {
      case GIT_FILEMODE_TREE: t.kind = TreeEntry::Kind::directory; break;
      case GIT_FILEMODE_LINK: t.kind = TreeEntry::Kind::link; break;
      case GIT_FILEMODE_COMMIT: t.kind = TreeEntry::Kind::submodule; break;
      default: t.kind = TreeEntry::Kind::file;
    }
    size_t len = 0;
    git_object_t type;
    if (t.kind == TreeEntry::Kind::file && git_odb_read_header(&len, &type, odb.get(), git_tree_entry_id(e)) == 0) {
      t.size = len;
    }
    out.push_back(std::move(t));
  }
  std::stable_sort(out.begin(), out.end(), [](const TreeEntry& a, const TreeEntry& b) {
    return (a.kind == TreeEntry::Kind::directory) > (b.kind == TreeEntry::Kind::directory);
  });
  return out;
}

Result<Blob> Repo::blob(const std::string& commit, const std::string& path, uint64_t max) const {
  const git_oid oid = SEED_TRY(parse_oid(commit));
  git_commit* c = nullptr;
  if (git_commit_lookup(&c, repo_, &oid) != 0) return missing("no such commit");
  CommitPtr owned_commit(c);
  git_tree* root = nullptr;
  if (git_commit_tree(&root, c) != 0) return io_error("cannot read a commit's tree", path_);
  TreePtr tree(root);
  git_tree_entry* e = nullptr;
  if (path.empty() || git_tree_entry_bypath(&e, root, path.c_str()) != 0) return missing("no file '" + path + "'");
  EntryPtr entry(e);
  if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) return missing("'" + path + "' is not a file");
  git_blob* b = nullptr;
  if (git_blob_lookup(&b, repo_, git_tree_entry_id(e)) != 0) return io_error("cannot read a file", path_);
  git::BlobPtr owned(b);
  Blob out;
  out.size = git_blob_rawsize(b);
  const auto* data = static_cast<const char*>(git_blob_rawcontent(b));
  const size_t keep = static_cast<size_t>(std::min<uint64_t>(out.size, max));
  out.head.assign(data, keep);
  out.truncated = keep < out.size;
  out.binary = std::memchr(data, '\0', static_cast<size_t>(std::min<uint64_t>(out.size, 8000))) != nullptr;
  return out;
}

Result<std::vector<CommitInfo>> Repo::log(const std::string& commit, size_t n) const {
  const git_oid oid = SEED_TRY(parse_oid(commit));
  git_revwalk* raw = nullptr;
  if (git_revwalk_new(&raw, repo_) != 0) return io_error("cannot walk the history", path_);
  WalkPtr walk(raw);
  git_revwalk_sorting(raw, GIT_SORT_TIME);
  if (git_revwalk_push(raw, &oid) != 0) return missing("no such commit");
  std::vector<CommitInfo> out;
  git_oid next;
  while (out.size() < n && git_revwalk_next(&next, raw) == 0) {
    git_commit* c = nullptr;
    if (git_commit_lookup(&c, repo_, &next) != 0) return io_error("cannot read a commit", path_);
    CommitPtr owned(c);
    CommitInfo info;
    char hex[GIT_OID_HEXSZ + 1] = {};
    git_oid_tostr(hex, sizeof hex, &next);
    info.id = hex;
    info.summary = first_line(git_commit_message(c));
    const git_signature* author = git_commit_author(c);
    info.author = author != nullptr && author->name != nullptr ? author->name : "";
    info.time = author != nullptr ? author->when.time : 0;
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<RepoSummary> list_repos(const std::string& root) {
  std::vector<RepoSummary> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    std::string file = e.path().filename().string();
    if (!file.ends_with(".git")) continue;
    std::string name = file.substr(0, file.size() - 4);
    if (!is_silo_repo_name(name)) continue;
    auto repo = Repo::open(root, name);
    if (!repo) continue;
    RepoSummary s;
    s.name = name;
    s.head_branch = repo->head_branch();
    if (auto head = repo->resolve("HEAD")) {
      if (auto commits = repo->log(*head, 1); commits && !commits->empty()) {
        s.last_summary = commits->front().summary;
        s.last_time = commits->front().time;
      }
    }
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const RepoSummary& a, const RepoSummary& b) { return a.name < b.name; });
  return out;
}

std::optional<std::string> readme_of(const std::vector<TreeEntry>& entries) {
  for (const char* wanted : {"readme.md", "readme.markdown", "readme", "readme.txt"}) {
    for (const auto& e : entries) {
      if (e.kind != TreeEntry::Kind::file) continue;
      std::string lower = e.name;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      if (lower == wanted) return e.name;
    }
  }
  return std::nullopt;
}

}  // namespace seed::api::silo_web
