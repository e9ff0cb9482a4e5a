// The instance's age recipient, as `ssh <node> keys <instance>` prints it. The guest creates
// its TPM-bound identity with age-plugin-tpm on first boot into /seed/tpm/age-identity and
// writes the recipient next to it; seedd reads it back from the host side of the `seed-tpm`
// share. It comes from an untrusted guest, so it is shown only if it has the exact form of an
// age-plugin-tpm recipient: lower-case bech32 with human-readable part "age1tpm", a valid
// checksum, nothing else in the file but one trailing newline.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::tpm {

// Errc::invalid_argument describing what is wrong (without echoing more than a short prefix
// of untrusted text).
Status validate_age_recipient(std::string_view text);

// Reads `<share_dir>/age-recipient`. Errc::not_found while the guest has not written it.
Result<std::string> read_age_recipient(const std::string& share_dir, const std::string& instance);

// Bech32 (BIP-173) checksum check of a whole lower-case string "<hrp>1<data>".
bool bech32_valid(std::string_view text);

}  // namespace seed::tpm
