// The text form of an egress allow rule (network.egress.allow in seedd.json and the host
// module): "<address>[/<length>] [tcp|udp/<port>]". A bare address is one host (/32, /128).
#pragma once

#include <string_view>

#include "common/error.hpp"
#include "net/firewall_spec.hpp"

namespace seed::net {

// Errc::invalid_argument naming `what` (the setting) and the text, saying what is wrong.
Result<EgressRule> parse_egress_rule(std::string_view text, std::string_view what);

// The rule back in its text form, canonical ("192.168.1.20/32 tcp/443").
std::string to_string(const EgressRule& rule);

}  // namespace seed::net
