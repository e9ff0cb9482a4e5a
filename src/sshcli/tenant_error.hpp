// What of an error a tenant may see. Errors come from every layer below (the engine, nix,
// libgit2, the TPM read-back), and many carry node internals: file paths, socket and binary
// names. Before an error leaves over SSH it keeps only the context fields that describe the
// tenant's own things, and every absolute path in its text that is not the tenant's business
// (the nix store and the guest's own /seed and /run/seed are) becomes "<node path>".
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "reconcile/service.hpp"

namespace seed::sshcli {

// The error as a tenant may see it: context keys limited to the tenant-facing ones (stage,
// hint, repo, source, instance, key, size, uri, flake, generation, name, line, stderr,
// retry_after_s), node
// paths replaced in the message and in every value kept.
Error for_tenant(const Error& error);

// `text` with every absolute path outside the tenant-visible prefixes replaced.
std::string hide_node_paths(std::string_view text);

// The same for the failures a status view carries (a boot or runtime failure's message may
// name node files), before `status` or `plant` shows it to a tenant.
reconcile::SourceView for_tenant(reconcile::SourceView view);

}  // namespace seed::sshcli
