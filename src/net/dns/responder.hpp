// The answer to one query, as a pure function of (zone snapshot, query bytes, who asked):
// everything protocol-level the server decides lives here, so it is unit-tested without
// sockets. The result is written into a caller-owned buffer; nothing is allocated on the
// authoritative path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/dns/message.hpp"
#include "net/dns/zone_store.hpp"

namespace seed::net::dns {

struct Caller {
  bool guest = false;  // asked on the guest-facing listener (bridge address)
  bool tcp = false;
  // The caller's tenant namespace (guest side), for short names like `api`.
  std::optional<std::string_view> ns;
  bool can_forward = false;  // an upstream resolver is configured (guest side)
};

struct ResponderLimits {
  // The largest UDP answer we send even when EDNS offers more: 1232 avoids IP fragmentation
  // (DNS flag day 2020) and bounds amplification at roughly 30x a minimal query.
  size_t max_udp_payload = 1232;
};

enum class Action {
  reply,    // `size` bytes of `out` hold the response
  drop,     // no answer at all (responses, packets shorter than a header)
  forward,  // guest side: send the query to the upstream resolver
};

struct Outcome {
  Action action = Action::drop;
  size_t size = 0;
  Rcode rcode = Rcode::noerror;
};

// `out` must hold at least 65535 bytes for TCP, or max_udp_payload for UDP.
Outcome respond(const ZoneSnapshot& snap, std::span<const uint8_t> query, const Caller& caller,
                const ResponderLimits& limits, std::span<uint8_t> out);

// A minimal response carrying only `rcode` (and the question when it parsed): what the server
// sends when the upstream timed out (SERVFAIL), for oversized queries (FORMERR), and with
// `tc` set as the rate limiter's "slip" answer or when a relayed reply is too big for UDP.
// Returns 0 (send nothing) for packets shorter than a header.
size_t error_response(std::span<const uint8_t> query, Rcode rcode, bool ra, std::span<uint8_t> out,
                      bool tc = false);

}  // namespace seed::net::dns
