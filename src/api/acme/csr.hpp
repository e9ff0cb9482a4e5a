// The CSR a guest sends with finalize (RFC 8555 §7.4): DER (base64url in the payload), its
// self-signature valid, its key strong enough (RSA ≥ 2048 bits, EC P-256/P-384, Ed25519), and
// the names it asks for: dNSName SANs plus a CN that must be one of them. The CSR is passed
// upstream unchanged, so the guest's key never leaves the guest; seedd only reads it.
// Errors carry ACME problem type "badCSR" in context "acme_type".
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

#include "common/error.hpp"

namespace seed::api::acme {

struct CsrInfo {
  std::set<std::string> names;  // lower case, from the SANs and the CN
  std::string key_spki_der;     // SubjectPublicKeyInfo, to compare with the account's key
  std::string der;              // the CSR itself, unchanged
};

Result<CsrInfo> check_csr(std::string_view der);

// A DER CSR for `sans` (OpenSSL's SAN syntax: "DNS:a.example"; `cn` as the subject's CN when not empty) signed by `key`,
// as an ACME client makes one: seedd for its own names (tls/cert_keeper), tests for guests.
std::string make_csr(EVP_PKEY* key, const std::vector<std::string>& sans, const std::string& cn = {});

}  // namespace seed::api::acme
