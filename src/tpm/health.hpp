// Talking to a vTPM through tpm2-tss (ESAPI over the swtpm TCTI): Startup, a full SelfTest,
// and the endorsement key's public part, whose SHA-256 fingerprint `status` shows. The EK
// fingerprint is the TPM's identity: it must stay the same across restarts for as long as the
// state directory lives, because the instance's age identity is bound to this TPM.
#pragma once

#include <string>

#include "common/error.hpp"

namespace seed::tpm {

// The persistent handle swtpm_setup gives the RSA 2048 EK (TCG EK profile).
inline constexpr uint32_t kRsaEkHandle = 0x81010001;

struct TpmHealth {
  std::string ek_fingerprint;  // "sha256:<64 hex>" of the EK's DER SubjectPublicKeyInfo
  uint32_t ek_bits = 0;
};

// `server_socket` is swtpm's server socket; the TCTI finds its control channel at
// `<server_socket>.ctrl`. Leaves the TPM shut down cleanly (TPM2_Shutdown(CLEAR)), ready for a
// VMM's own Startup. Errc::unavailable when the TPM cannot be reached, Errc::protocol when it
// answers with a failure (corrupt state, failure mode, missing EK).
Result<TpmHealth> check_health(const std::string& server_socket);

}  // namespace seed::tpm
