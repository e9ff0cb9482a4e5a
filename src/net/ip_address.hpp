// IPv4/IPv6 addresses and prefixes as values: parsed once (strictly, with inet_pton), then
// compared and printed canonically, so nothing downstream handles address strings.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::net {

struct Ipv4 {
  uint32_t value = 0;  // host byte order, so arithmetic on offsets is plain integer math
  auto operator<=>(const Ipv4&) const = default;
  std::string str() const;
};

struct Ipv6 {
  std::array<uint8_t, 16> bytes{};
  auto operator<=>(const Ipv6&) const = default;
  std::string str() const;
};

struct Prefix4 {
  Ipv4 network;  // host bits zero
  int length = 0;
  bool contains(Ipv4 a) const;
  Ipv4 broadcast() const;
  uint64_t size() const { return uint64_t{1} << (32 - length); }
  std::string str() const;  // "10.0.0.0/24"
};

struct Prefix6 {
  Ipv6 network;
  int length = 0;
  bool contains(const Ipv6& a) const;
  // network + offset in the low 64 bits (offsets stay far below 2^64 here).
  Ipv6 at(uint64_t offset) const;
  std::string str() const;
};

// `what` names the setting for the error ("network.subnet").
Result<Ipv4> parse_ipv4(std::string_view text, std::string_view what);
Result<Ipv6> parse_ipv6(std::string_view text, std::string_view what);
// "10.0.0.0/24"; host bits must be zero (a typo like 10.0.0.1/24 is rejected, not masked).
Result<Prefix4> parse_prefix4(std::string_view text, std::string_view what);
Result<Prefix6> parse_prefix6(std::string_view text, std::string_view what);

}  // namespace seed::net
