// The one rule for Silo repository names, shared by everything that turns a name into a path
// under Silo's root (<root>/<name>.git): git over SSH (sshcli), `silo:NAME` sources
// (reconcile) and Silo on the web (api/silo_web). A valid name is a single safe path component.
#pragma once

#include <string_view>

namespace seed {

// 1-63 of a-z 0-9 '-' '_' '.', not starting with '.' or '-', no "..".
bool is_silo_repo_name(std::string_view name);

// The rule in words, for error messages.
inline constexpr std::string_view kSiloRepoNameRule =
    "1-63 lowercase letters, digits, '-', '_' or '.', not starting with '.' or '-'";

}  // namespace seed
