#include "storage/size.hpp"

#include <array>
#include <limits>
#include <utility>

namespace seed::storage {
namespace {

struct Suffix {
  std::string_view name;
  uint64_t factor;
};

constexpr uint64_t kKi = 1024;
constexpr std::array<Suffix, 12> kSuffixes{{
    {"Ki", kKi}, {"Mi", kKi * kKi}, {"Gi", kKi * kKi * kKi}, {"Ti", kKi * kKi * kKi * kKi},
    {"Pi", kKi * kKi * kKi * kKi * kKi}, {"Ei", kKi * kKi * kKi * kKi * kKi * kKi},
    {"k", 1000ULL}, {"M", 1000ULL * 1000}, {"G", 1000ULL * 1000 * 1000},
    {"T", 1000ULL * 1000 * 1000 * 1000}, {"P", 1000ULL * 1000 * 1000 * 1000 * 1000},
    {"E", 1000ULL * 1000 * 1000 * 1000 * 1000 * 1000},
}};

Error bad(std::string_view text, std::string why) {
  return make_error(Errc::invalid_argument,
                    "invalid size \"" + std::string(text) + "\": " + why +
                        "; write a whole number with an optional suffix, e.g. 500Mi, 1Gi, 10G")
      .with("size", std::string(text));
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  if (text.empty()) return bad(text, "it is empty");
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) {
    if (text[0] == '-') return bad(text, "it is negative");
    if (text[0] == '+') return bad(text, "a sign is not allowed");
    if (text[0] == ' ' || text[0] == '\t' || text[0] == '\n') {
      return bad(text, "it has surrounding whitespace");
    }
    return bad(text, "it does not start with a number");
  }
  std::string_view rest = text.substr(digits);
  if (!rest.empty() && (rest[0] == '.' || rest[0] == ',')) {
    return bad(text, "fractions are not supported (use a smaller unit, e.g. 1536Mi for 1.5Gi)");
  }
  uint64_t factor = 1;
  if (!rest.empty()) {
    bool found = false;
    for (const auto& s : kSuffixes) {
      if (rest == s.name) {
        factor = s.factor;
        found = true;
        break;
      }
    }
    if (!found) {
      if (rest.find_first_of(" \t\n") != std::string_view::npos) {
        return bad(text, "it contains whitespace");
      }
      return bad(text, "unknown suffix \"" + std::string(rest) +
                           "\" (binary: Ki Mi Gi Ti Pi Ei; decimal: k M G T P E)");
    }
  }
  uint64_t number = 0;
  for (size_t i = 0; i < digits; ++i) {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (number > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      return bad(text, "it is too large");
    }
    number = number * 10 + d;
  }
  if (number == 0) return bad(text, "a volume cannot be empty");
  if (number > std::numeric_limits<uint64_t>::max() / factor) return bad(text, "it is too large");
  return number * factor;
}

Result<uint64_t> parse_volume_size(std::string_view text, const VolumeId& id) {
  auto size = parse_size(text);
  if (size) return size;
  Error e = std::move(size).error();
  e.message = "volume " + id.display() + " (seed.storage." + id.volume + " of instance " +
              id.instance + "): " + e.message;
  return tag(std::move(e), id);
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0";
  // Prefer the largest binary unit that divides exactly, then decimal, then bytes.
  for (size_t i = 6; i-- > 0;) {
    if (bytes % kSuffixes[i].factor == 0) {
      return std::to_string(bytes / kSuffixes[i].factor) + std::string(kSuffixes[i].name);
    }
  }
  for (size_t i = 12; i-- > 6;) {
    if (bytes % kSuffixes[i].factor == 0) {
      return std::to_string(bytes / kSuffixes[i].factor) + std::string(kSuffixes[i].name);
    }
  }
  return std::to_string(bytes);
}

}  // namespace seed::storage
