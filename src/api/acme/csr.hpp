// The CSR a guest sends with finalize (RFC 8555 §7.4): DER (base64url in the payload), its
// self-signature valid, its key strong enough (RSA ≥ 2048 bits, EC P-256/P-384, Ed25519), and
// the names it asks for: dNSName SANs plus a CN that must be one of them. The CSR is passed
// upstream unchanged, so the guest's key never leaves the guest; seedd only reads it.
// Errors carry ACME problem type "badCSR" in context "acme_type".
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::api::acme {

struct CsrInfo {
  std::set<std::string> names;  // lower case, from the SANs and the CN
  std::string key_spki_der;     // SubjectPublicKeyInfo, to compare with the account's key
  std::string der;              // the CSR itself, unchanged
};

Result<CsrInfo> check_csr(std::string_view der);

}  // namespace seed::api::acme
