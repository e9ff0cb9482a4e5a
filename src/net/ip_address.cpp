#include "net/ip_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace seed::net {
namespace {

Error bad(std::string_view what, std::string_view text, std::string_view expected) {
  return make_error(Errc::invalid_argument,
                    std::string(what) + ": \"" + std::string(text) + "\" is not " +
                        std::string(expected))
      .with("setting", std::string(what));
}

// Splits "addr/len" and parses len within [0, max].
Result<std::pair<std::string, int>> split_prefix(std::string_view text, int max,
                                                 std::string_view what,
                                                 std::string_view expected) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad(what, text, expected);
  auto len_text = text.substr(slash + 1);
  int len = -1;
  auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc{} || end != len_text.data() + len_text.size() || len < 0 || len > max ||
      len_text.empty()) {
    return bad(what, text, expected);
  }
  return std::pair{std::string(text.substr(0, slash)), len};
}

}  // namespace

std::string Ipv4::str() const {
  return std::to_string(value >> 24) + "." + std::to_string((value >> 16) & 0xff) + "." +
         std::to_string((value >> 8) & 0xff) + "." + std::to_string(value & 0xff);
}

std::string Ipv6::str() const {
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

bool Prefix4::contains(Ipv4 a) const {
  uint32_t mask = length == 0 ? 0 : ~uint32_t{0} << (32 - length);
  return (a.value & mask) == network.value;
}

Ipv4 Prefix4::broadcast() const {
  uint32_t host = length == 0 ? ~uint32_t{0} : ~(~uint32_t{0} << (32 - length));
  return Ipv4{network.value | host};
}

std::string Prefix4::str() const { return network.str() + "/" + std::to_string(length); }

bool Prefix6::contains(const Ipv6& a) const {
  for (int bit = 0; bit < length; ++bit) {
    uint8_t m = uint8_t(0x80 >> (bit % 8));
    if ((a.bytes[bit / 8] & m) != (network.bytes[bit / 8] & m)) return false;
  }
  return true;
}

Ipv6 Prefix6::at(uint64_t offset) const {
  Ipv6 out = network;
  for (int i = 15; i >= 8 && offset; --i, offset >>= 8) out.bytes[i] |= uint8_t(offset & 0xff);
  return out;
}

std::string Prefix6::str() const { return network.str() + "/" + std::to_string(length); }

Result<Ipv4> parse_ipv4(std::string_view text, std::string_view what) {
  in_addr a{};
  if (::inet_pton(AF_INET, std::string(text).c_str(), &a) != 1) {
    return bad(what, text, "an IPv4 address (like 10.0.0.1)");
  }
  return Ipv4{ntohl(a.s_addr)};
}

Result<Ipv6> parse_ipv6(std::string_view text, std::string_view what) {
  Ipv6 out;
  if (::inet_pton(AF_INET6, std::string(text).c_str(), out.bytes.data()) != 1) {
    return bad(what, text, "an IPv6 address (like fd00::1)");
  }
  return out;
}

Result<Prefix4> parse_prefix4(std::string_view text, std::string_view what) {
  constexpr std::string_view expected = "an IPv4 prefix (like 10.0.0.0/24)";
  auto [addr_text, len] = SEED_TRY(split_prefix(text, 32, what, expected));
  auto addr = parse_ipv4(addr_text, what);
  if (!addr) return bad(what, text, expected);
  uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  if (addr->value & ~mask) return bad(what, text, "a prefix with its host bits zero");
  return Prefix4{*addr, len};
}

Result<Prefix6> parse_prefix6(std::string_view text, std::string_view what) {
  constexpr std::string_view expected = "an IPv6 prefix (like fd00:5eed::/64)";
  auto [addr_text, len] = SEED_TRY(split_prefix(text, 128, what, expected));
  auto addr = parse_ipv6(addr_text, what);
  if (!addr) return bad(what, text, expected);
  for (int bit = len; bit < 128; ++bit) {
    if (addr->bytes[bit / 8] & (0x80 >> (bit % 8))) {
      return bad(what, text, "a prefix with its host bits zero");
    }
  }
  return Prefix6{*addr, len};
}

}  // namespace seed::net
