// Volume sizes as tenants write them (`seed.storage.data = "1Gi"`): Kubernetes-style quantities
// restricted to whole bytes. Binary suffixes Ki Mi Gi Ti Pi Ei are powers of 1024, decimal
// suffixes k M G T P E powers of 1000, no suffix means bytes. Anything else (signs, fractions,
// exponents, whitespace, `m` milli, unknown suffixes, zero, overflow) is rejected, because a
// silently misread size either wastes a disk or truncates a tenant's data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "storage/volume_id.hpp"

namespace seed::storage {

// Errc::invalid_argument naming the offending text and what would be accepted.
Result<uint64_t> parse_size(std::string_view text);

// parse_size() for a tenant's `seed.storage.<volume>` declaration: the error also names the
// instance and volume, and says where to fix it.
Result<uint64_t> parse_volume_size(std::string_view text, const VolumeId& id);

// The shortest exact spelling: 1073741824 → "1Gi", 1500000 → "1500k", 1000 → "1k", 7 → "7".
std::string format_size(uint64_t bytes);

}  // namespace seed::storage
