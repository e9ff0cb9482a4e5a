// First start of a vTPM: manufacture it the way a TPM vendor would, with swtpm_setup creating
// the endorsement keys (RSA and ECC, persisted at 0x81010001 / 0x81010016), their certificates
// and a platform certificate signed by a node-local CA, then locking the NV indices.
//
// swtpm_setup reads its CA configuration from /etc by default; seedd writes its own three
// config files into the node's CA directory instead, so the node owner's /etc stays untouched
// and the CA's keys live with seedd's other state.
#pragma once

#include <string>

#include "common/error.hpp"
#include "tpm/tpm_paths.hpp"

namespace seed::tpm {

// Writes swtpm_setup.conf, swtpm-localca.conf and swtpm-localca.options into ca_dir when
// missing (the CA key itself is created by swtpm_localca on first use). Returns the path of
// swtpm_setup.conf.
Result<std::string> ensure_local_ca(const TpmSettings& settings);

// Whether the instance already has a TPM state.
bool is_provisioned(const TpmPaths& paths);

// Manufactures a new TPM state into paths.state. It is built in a sibling directory and
// renamed into place only when swtpm_setup succeeded, so a crash or failure never leaves a
// half-made identity. Errc::already_exists if a state is there (never overwritten).
Status provision(const TpmSettings& settings, const TpmPaths& paths);

}  // namespace seed::tpm
