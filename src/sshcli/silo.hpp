// Silo: the node's own git hosting. Bare repositories under <root>/<name>.git (the path
// reconcile's parse_flake_source maps `silo:NAME` to). Reads are public; the first push creates
// a repository and makes the pusher its owner; later pushes need the owner's key or a key in
// `.authorized_keys` of the default branch as it is before the push. libgit2 reads the
// repositories; git-receive-pack/upload-pack (run by the session) transfer the objects.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "sshcli/identity.hpp"

namespace seed::sshcli {

struct SiloLimits {
  uint64_t max_pack_bytes = 256ull << 20;  // receive.maxInputSize of every repository
  size_t max_refs = 10000;
  size_t max_authorized_keys_bytes = 1 << 20;
};

// Every ref of a repository: name → object id (hex), or the target of a symbolic ref.
using RefSnapshot = std::map<std::string, std::string>;

struct PushAccess {
  std::string path;   // the bare repository
  bool created = false;
  size_t refs = 0;    // refs it holds now
  RefSnapshot before; // ... and what they point at, to tell afterwards what the push changed
  std::string head;   // the default branch HEAD names ("refs/heads/main"), "" when detached
};

class Silo {
 public:
  Silo(std::string root, SiloLimits limits);
  ~Silo();
  Silo(const Silo&) = delete;
  Silo& operator=(const Silo&) = delete;

  const std::string& root() const { return root_; }
  const SiloLimits& limits() const { return limits_; }
  std::string path(const std::string& name) const { return root_ + "/" + name + ".git"; }
  bool exists(const std::string& name) const;

  // `.authorized_keys` at the top of the default branch; "" when the file or the branch is
  // missing. Errc::not_found when there is no such repository.
  Result<std::string> authorized_keys(const std::string& name) const;
  // The owner's key ("type base64"). Errc::not_found when there is no such repository.
  Result<std::string> owner(const std::string& name) const;

  // Decides whether `who` may push to `name`, creating the repository (owned by `who`) when it
  // does not exist yet. Errc::permission_denied names the key and how to get access.
  Result<PushAccess> prepare_push(const std::string& name, const KeyIdentity& who);
  // After a successful push: a repository whose HEAD names a branch that was never pushed
  // (the first push was `main`, HEAD says `master`) gets HEAD pointed at a pushed branch.
  Status finish_push(const std::string& name);

  // Pushes to one repository take turns (an flock on <repo>/seed-push.lock, waited for up to
  // `wait`): while one holds it, any quarantine directory git left behind (a receive-pack cut
  // off by a vanished client) belongs to no running push and is removed.
  Result<UniqueFd> lock_push(const std::string& name, std::chrono::milliseconds wait);
  void remove_quarantine(const std::string& name);
  // Removes a repository that holds no refs (a first push that failed).
  void remove_if_empty(const std::string& name);

  // After git-receive-pack has exited: whether the push changed any ref. receive-pack exits 0
  // even when it refused the pack (too large, failed fsck) or every ref, so the refs are what
  // decide. A first push that made no ref has its repository removed: nobody squats the name.
  // A repository that cannot be read counts as changed (it is kept and redeployed).
  bool settle_push(const std::string& name, const PushAccess& access);

 private:
  Result<PushAccess> create(const std::string& name, const KeyIdentity& who);
  Result<RefSnapshot> refs(const std::string& name) const;

  std::string root_;
  SiloLimits limits_;
};

// What a push that changed no ref tells the client (after git's own reasons).
Error nothing_pushed(const std::string& name, bool created);

}  // namespace seed::sshcli
