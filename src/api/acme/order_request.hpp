// What newOrder and finalize ask for, decoded from their (already verified) JWS payloads: the
// part of those requests that is pure input checking, kept apart from the facade's state so
// the fuzzer (src/api/fuzz) reaches it. Errors carry the ACME problem type in context
// "acme_type" (malformed, rejectedIdentifier, badCSR) and say what to send instead.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/acme/csr.hpp"
#include "common/error.hpp"

namespace seed::api::acme {

// newOrder's identifiers (RFC 8555 §7.4): 1 to 100 {"type": "dns", "value": NAME}, each
// (lower-cased) one of `own` and, unless `zone` is empty, inside it; no wildcards. Sorted,
// without duplicates.
Result<std::vector<std::string>> order_names(const nlohmann::json& payload, const std::vector<std::string>& own,
                                             const std::string& zone);

// finalize's CSR: {"csr": base64url DER}, checked by check_csr().
Result<CsrInfo> finalize_csr(const nlohmann::json& payload);

}  // namespace seed::api::acme
