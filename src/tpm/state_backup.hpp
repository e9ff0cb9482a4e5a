// Backups of a vTPM's state directory. Taken before each start, and only of a state that has
// just passed the health check, so the backup is always the last known-good identity.
// Atomic: the copy is written and fsynced under a temporary name, then swapped with the old
// backup in one renameat2(RENAME_EXCHANGE); a crash at any point leaves either the old or the
// new backup complete.
//
// Restoring is never automatic: a corrupt state is reported, and only an explicit restore
// (the node owner's decision) replaces it, keeping the replaced state aside.
#pragma once

#include <string>

#include "common/error.hpp"
#include "tpm/tpm_paths.hpp"

namespace seed::tpm {

Status backup_state(const TpmPaths& paths);
bool has_backup(const TpmPaths& paths);

// Copies the backup over the state. The current state (if any) is moved to
// `state.replaced-<unix seconds>` and kept; returns that path (empty when there was none).
// Errc::not_found without a backup.
Result<std::string> restore_backup(const TpmPaths& paths);

}  // namespace seed::tpm
