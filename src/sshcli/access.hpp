// What a key may see and act on: exactly the planted sources whose `.authorized_keys` lists
// it. Silo repositories are read with libgit2 (the default branch as it is now); other sources
// through the reconcile service (nix fetches them). Unlisted and nonexistent look alike, so a
// stranger learns nothing about other tenants' repos; only the owner of a planted Silo
// repository that does not list their key is told so (and how to fix it).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "reconcile/service.hpp"
#include "sshcli/identity.hpp"
#include "sshcli/silo.hpp"

namespace seed::sshcli {

struct ResolvedInstance {
  reconcile::SourceView source;
  reconcile::InstanceView instance;
};

// The short names a tenant may use for a source: "silo:my-app" → {"silo:my-app", "my-app"},
// "github:alice/app" → {"github:alice/app", "alice/app", "app"}, "git+https://h/x/app.git" →
// {"git+https://h/x/app.git", "app"}.
std::vector<std::string> repo_aliases(std::string_view canonical);

// What the owner of a planted Silo repository whose `.authorized_keys` does not list their key
// hears instead of "not found" (Errc::permission_denied).
Error owner_not_listed(const KeyIdentity& who, const std::string& canonical);

class Access {
 public:
  Access(reconcile::Service& service, const Silo& silo) : service_(service), silo_(silo) {}

  // The `.authorized_keys` text of a source (canonical URI).
  Result<std::string> authorized_keys(const std::string& canonical);

  // Planted sources visible to `who`; with `repo`, only the one it names (Errc::not_found when
  // none of the caller's repos is called that, invalid_argument when two are).
  Result<std::vector<reconcile::SourceView>> visible(const KeyIdentity& who, const std::string& repo);

  // "[repo/]instance" among the visible sources. Errc::not_found when no visible instance has
  // that name; invalid_argument listing the choices when several have.
  Result<ResolvedInstance> resolve(const KeyIdentity& who, std::string_view target);

  // Planted Silo repositories `who` owns (pushed first) whose `.authorized_keys` does not list
  // it (optionally only the one `repo` names): their owner is told why they are hidden and how
  // to fix it. Nobody else learns they exist.
  std::vector<reconcile::SourceView> owned_unlisted(const KeyIdentity& who, const std::string& repo);

 private:
  reconcile::Service& service_;
  const Silo& silo_;
};

}  // namespace seed::sshcli
