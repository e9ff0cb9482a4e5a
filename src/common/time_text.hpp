// Times as people write them on a command line and as logs print them. Pure functions: the
// caller passes "now", so every rule is unit-tested without a clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed {

// Microseconds since the Unix epoch, from the system clock.
int64_t now_unix_us();

// `--since` values: a duration back from `now_us` ("90s", "10m", "1h", "2d"; a whole number and
// one unit) or an RFC 3339 time ("2026-12-04T10:00:00Z", "2026-12-04T11:00:00+01:00", optional
// fraction). Returns microseconds since the epoch. Errc::invalid_argument, naming the value and
// the accepted forms, for anything else.
Result<int64_t> parse_since(std::string_view text, int64_t now_us);

// "2026-12-04T10:00:01.123456Z" (UTC, always six fraction digits).
std::string format_rfc3339_us(int64_t unix_us);

}  // namespace seed
