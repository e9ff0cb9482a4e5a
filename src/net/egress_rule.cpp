#include "net/egress_rule.hpp"

#include <charconv>

#include "net/ip_address.hpp"

namespace seed::net {
namespace {

constexpr std::string_view form = "use \"ADDRESS[/LENGTH]\" or \"ADDRESS[/LENGTH] tcp/PORT\" (or udp/PORT)";

Error bad(std::string_view what, std::string_view text, const std::string& why) {
  return make_error(Errc::invalid_argument, std::string(what) + ": \"" + std::string(text) + "\" " + why +
                                                "; " + std::string(form))
      .with("setting", std::string(what))
      .with("stage", "config");
}

// "10.0.0.5" → "10.0.0.5/32"; "10.0.0.0/8" stays; host bits must be zero.
Result<std::string> canonical_prefix(std::string_view text, std::string_view what) {
  const bool v6 = text.find(':') != std::string_view::npos;
  if (text.find('/') == std::string_view::npos) {
    if (v6) return SEED_TRY(parse_ipv6(text, what)).str() + "/128";
    return SEED_TRY(parse_ipv4(text, what)).str() + "/32";
  }
  if (v6) return SEED_TRY(parse_prefix6(text, what)).str();
  return SEED_TRY(parse_prefix4(text, what)).str();
}

}  // namespace

Result<EgressRule> parse_egress_rule(std::string_view text, std::string_view what) {
  EgressRule rule;
  const size_t space = text.find(' ');
  auto prefix = canonical_prefix(text.substr(0, space), what);
  if (!prefix) return bad(what, text, "does not start with an address or prefix (" + prefix.error().message + ")");
  rule.cidr = *prefix;
  if (space == std::string_view::npos) return rule;
  std::string_view rest = text.substr(space + 1);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad(what, text, "has no port after the protocol");
  rule.protocol = std::string(rest.substr(0, slash));
  if (rule.protocol != "tcp" && rule.protocol != "udp") {
    return bad(what, text, "names protocol \"" + rule.protocol + "\", not tcp or udp");
  }
  std::string_view port = rest.substr(slash + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
    return bad(what, text, "has port \"" + std::string(port) + "\", not 1-65535");
  }
  rule.port = static_cast<uint16_t>(value);
  return rule;
}

std::string to_string(const EgressRule& rule) {
  if (rule.protocol.empty()) return rule.cidr;
  return rule.cidr + " " + rule.protocol + "/" + std::to_string(rule.port);
}

}  // namespace seed::net
