#include "sshcli/silo.hpp"

#include <stdlib.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include <git2.h>

#include "common/git_handles.hpp"

namespace seed::sshcli {
namespace {

using git::RepoPtr;
using git::ObjectPtr;
using git::ConfigPtr;
using git::RefPtr;
using IterPtr = git::RefIterPtr;

Error libgit2_error(std::string what, const std::string& path) {
  const ::git_error* e = git_error_last();
  return make_error(Errc::io, what + (e && e->message ? std::string(": ") + e->message : std::string()))
      .with("path", path)
      .with("stage", "silo");
}

Error no_repo(const std::string& name) {
  return make_error(Errc::not_found, "no Silo repository '" + name + "'")
      .with("repo", name)
      .with("stage", "silo")
      .with("hint", "create it by pushing: git push <node>:" + name + ".git");
}

Result<RepoPtr> open_repo(const std::string& path) {
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, path.c_str()) != 0) return libgit2_error("cannot open the repository", path);
  return RepoPtr(raw);
}

Result<RefSnapshot> snapshot_refs(git_repository* repo, const std::string& path) {
  git_reference_iterator* raw = nullptr;
  if (git_reference_iterator_new(&raw, repo) != 0) return libgit2_error("cannot list refs", path);
  IterPtr it(raw);
  RefSnapshot out;
  git_reference* ref = nullptr;
  while (git_reference_next(&ref, it.get()) == 0) {
    RefPtr owned(ref);
    std::string target;
    if (git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC) {
      target = std::string("-> ") + git_reference_symbolic_target(ref);
    } else if (const git_oid* oid = git_reference_target(ref); oid != nullptr) {
      target = git_oid_tostr_s(oid);
    }
    out.emplace(git_reference_name(ref), std::move(target));
  }
  return out;
}

// The branch HEAD names, whether or not it exists yet; "" for a detached HEAD.
std::string head_branch(git_repository* repo) {
  git_reference* raw = nullptr;
  if (git_reference_lookup(&raw, repo, "HEAD") != 0) return "";
  RefPtr head(raw);
  if (git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC) return "";
  return git_reference_symbolic_target(head.get());
}

}  // namespace

Silo::Silo(std::string root, SiloLimits limits) : root_(std::move(root)), limits_(limits) {
  git_libgit2_init();  // reference-counted by libgit2: every Silo pairs it with a shutdown
}

Silo::~Silo() { git_libgit2_shutdown(); }

bool Silo::exists(const std::string& name) const {
  std::error_code ec;
  return std::filesystem::is_directory(path(name), ec);
}

Result<std::string> Silo::authorized_keys(const std::string& name) const {
  if (!exists(name)) return no_repo(name);
  auto repo = SEED_TRY(open_repo(path(name)));
  git_object* raw = nullptr;
  int rc = git_revparse_single(&raw, repo.get(), "HEAD:.authorized_keys");
  if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) return std::string();
  if (rc != 0) return libgit2_error("cannot read .authorized_keys of the default branch", path(name));
  ObjectPtr obj(raw);
  if (git_object_type(obj.get()) != GIT_OBJECT_BLOB) return std::string();  // a directory of that name
  auto* blob = reinterpret_cast<git_blob*>(obj.get());
  auto size = static_cast<size_t>(git_blob_rawsize(blob));
  if (size > limits_.max_authorized_keys_bytes) {
    return make_error(Errc::invalid_argument, ".authorized_keys of silo:" + name + " is too large")
        .with("size", std::to_string(size))
        .with("stage", "silo")
        .with("hint", "keep it to public key lines, under " + std::to_string(limits_.max_authorized_keys_bytes) + " bytes");
  }
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob)), size);
}

Result<std::string> Silo::owner(const std::string& name) const {
  if (!exists(name)) return no_repo(name);
  auto repo = SEED_TRY(open_repo(path(name)));
  git_config* raw = nullptr;
  if (git_repository_config_snapshot(&raw, repo.get()) != 0) return libgit2_error("cannot read the config", path(name));
  ConfigPtr cfg(raw);
  const char* value = nullptr;
  if (git_config_get_string(&value, cfg.get(), "seed.owner") != 0) return std::string();
  return std::string(value);
}

Result<PushAccess> Silo::create(const std::string& name, const KeyIdentity& who) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) return errno_error("create the Silo directory " + root_, ec.value());
  // Built under a hidden temporary name (never a valid repository name), then renamed: a
  // concurrent first push or a crash never leaves a half-made repository under the real name.
  std::string tmpl = root_ + "/.new-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return errno_error("create a repository under " + root_, errno);
  std::string tmp(buf.data());
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      if (!dir.empty()) std::filesystem::remove_all(dir, e);
    }
  } cleanup{tmp};

  git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT;
  opts.initial_head = "master";
  git_repository* raw = nullptr;
  if (git_repository_init_ext(&raw, tmp.c_str(), &opts) != 0) return libgit2_error("cannot create the repository", tmp);
  RepoPtr repo(raw);
  git_config* cfg_raw = nullptr;
  if (git_repository_config(&cfg_raw, repo.get()) != 0) return libgit2_error("cannot open the config", tmp);
  ConfigPtr cfg(cfg_raw);
  if (git_config_set_string(cfg.get(), "seed.owner", who.openssh().c_str()) != 0 ||
      git_config_set_int64(cfg.get(), "receive.maxInputSize", static_cast<int64_t>(limits_.max_pack_bytes)) != 0 ||
      git_config_set_bool(cfg.get(), "receive.fsckObjects", 1) != 0 ||
      git_config_set_bool(cfg.get(), "core.logAllRefUpdates", 1) != 0) {
    return libgit2_error("cannot write the config", tmp);
  }
  cfg.reset();
  repo.reset();
  ::chmod(tmp.c_str(), 0755);
  if (::rename(tmp.c_str(), path(name).c_str()) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST) return prepare_push(name, who);  // created meanwhile
    return errno_error("move the new repository to " + path(name), errno);
  }
  cleanup.dir.clear();
  return PushAccess{path(name), true, 0, {}, std::string("refs/heads/") + opts.initial_head};
}

Result<PushAccess> Silo::prepare_push(const std::string& name, const KeyIdentity& who) {
  if (!exists(name)) return create(name, who);
  std::string owner_key = SEED_TRY(owner(name));
  bool allowed = owner_key == who.openssh();
  if (!allowed) allowed = authorized_keys_list(SEED_TRY(authorized_keys(name)), who);
  if (!allowed) {
    return make_error(Errc::permission_denied, "push to silo:" + name + " refused: key " + who.fingerprint +
                                                   " is not the owner's and not in .authorized_keys of its default branch")
        .with("repo", name)
        .with("key", who.fingerprint)
        .with("stage", "silo")
        .with("hint", "ask someone with access to add your public key to .authorized_keys and push it");
  }
  auto repo = SEED_TRY(open_repo(path(name)));
  PushAccess access{path(name), false, 0, SEED_TRY(snapshot_refs(repo.get(), path(name))), head_branch(repo.get())};
  access.refs = access.before.size();
  return access;
}

Result<UniqueFd> Silo::lock_push(const std::string& name, std::chrono::milliseconds wait) {
  std::string path = this->path(name) + "/seed-push.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return errno_error("open " + path, errno);
  auto until = std::chrono::steady_clock::now() + wait;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return errno_error("lock " + path, errno);
    if (std::chrono::steady_clock::now() >= until) {
      return make_error(Errc::unavailable, "another push to silo:" + name + " is still running")
          .with("stage", "silo")
          .with("hint", "retry when it has finished");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fd;
}

void Silo::remove_quarantine(const std::string& name) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(path(name) + "/objects", ec)) {
    if (e.path().filename().string().rfind("tmp_objdir-incoming-", 0) == 0) std::filesystem::remove_all(e.path(), ec);
  }
}

void Silo::remove_if_empty(const std::string& name) {
  auto now = refs(name);
  if (!now || !now->empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path(name), ec);
}

Result<RefSnapshot> Silo::refs(const std::string& name) const {
  auto repo = SEED_TRY(open_repo(path(name)));
  return snapshot_refs(repo.get(), path(name));
}

bool Silo::settle_push(const std::string& name, const PushAccess& access) {
  auto now = refs(name);
  bool changed = !now || *now != access.before;
  if (access.created && !changed) remove_if_empty(name);
  return changed;
}

Error nothing_pushed(const std::string& name, bool created) {
  return make_error(Errc::invalid_argument, created ? "nothing was pushed, so silo:" + name + " was not created"
                                                    : "nothing was pushed to silo:" + name)
      .with("repo", name)
      .with("stage", "silo")
      .with("hint", "git's messages above say why every ref update was refused; fix that and push again");
}

Status Silo::finish_push(const std::string& name) {
  auto repo = SEED_TRY(open_repo(path(name)));
  if (git_repository_head_unborn(repo.get()) != 1) return ok();
  // Prefer the conventional names, then whatever branch exists.
  for (const char* candidate : {"refs/heads/main", "refs/heads/master"}) {
    git_reference* ref = nullptr;
    if (git_reference_lookup(&ref, repo.get(), candidate) == 0) {
      git_reference_free(ref);
      if (git_repository_set_head(repo.get(), candidate) != 0) return libgit2_error("cannot set HEAD", path(name));
      return ok();
    }
  }
  git_reference_iterator* raw = nullptr;
  if (git_reference_iterator_glob_new(&raw, repo.get(), "refs/heads/*") != 0) return libgit2_error("cannot list branches", path(name));
  IterPtr it(raw);
  git_reference* ref = nullptr;
  if (git_reference_next(&ref, it.get()) == 0) {
    RefPtr owned(ref);
    if (git_repository_set_head(repo.get(), git_reference_name(owned.get())) != 0) {
      return libgit2_error("cannot set HEAD", path(name));
    }
  }
  return ok();
}

}  // namespace seed::sshcli
