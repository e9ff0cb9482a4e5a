// Name: one DNS domain name in uncompressed wire form (length-prefixed labels, root byte last),
// kept inline so parsing a query allocates nothing. The original case is kept (a response
// echoes the question exactly as asked); comparisons and lookups are case-insensitive.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::net::dns {

inline constexpr size_t max_name_wire = 255;  // RFC 1035 2.3.4, counting length bytes and root
inline constexpr size_t max_label = 63;

class Name {
 public:
  Name() { wire_[0] = 0; }  // the root

  // Parses presentation form ("web.team.example.org", trailing dot optional; "." is the root).
  // Labels must be 1..63 bytes of letters, digits, '-' or '_' (the names Seed serves);
  // the whole name at most 255 wire bytes.
  static Result<Name> from_text(std::string_view text);
  // Takes already validated wire bytes (the parser and the label appender use it).
  static Name from_wire_unchecked(std::span<const uint8_t> wire);

  std::span<const uint8_t> wire() const { return {wire_.data(), len_}; }
  size_t wire_size() const { return len_; }
  // The lowercased wire form: the key every lookup table uses.
  std::string key() const;
  // Writes the lowercased wire form into `out` (at least wire_size() bytes); no allocation.
  void key_into(uint8_t* out) const;
  std::string to_text() const;  // "web.team.example.org." ; "." for the root

  size_t label_count() const;
  bool is_root() const { return len_ == 1; }
  // The first label, without its length byte.
  std::string_view first_label() const;
  // The name without its first label (the root stays the root).
  Name parent() const;
  // `label` + "." + this; Errc::invalid_argument when the result would exceed 255 bytes.
  Result<Name> prepend(std::string_view label) const;
  // True when this name equals `zone` or lies below it (case-insensitive).
  bool is_at_or_below(const Name& zone) const;

  friend bool operator==(const Name& a, const Name& b);  // case-insensitive

 private:
  std::array<uint8_t, max_name_wire> wire_{};
  uint8_t len_ = 1;
};

inline uint8_t ascii_lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? uint8_t(c + 32) : c; }

}  // namespace seed::net::dns
