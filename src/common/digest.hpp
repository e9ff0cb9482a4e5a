// SHA-256 (OpenSSL) and the encodings Seed derives names from. Names that tenants see (DNS
// namespaces, generations) must never change between releases, so these are pinned by test
// vectors that an independent implementation (Python's hashlib/base64) reproduces.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace seed {

using Sha256 = std::array<uint8_t, 32>;

Sha256 sha256(std::string_view data);
std::string hex(const Sha256& digest);
// RFC 4648 base32, lowercase, without padding: DNS-label safe (a-z, 2-7).
std::string base32_lower(const uint8_t* data, size_t size);

}  // namespace seed
