// Parsing whole DNS messages strictly. Two entry points share one walker:
//  - parse_query(): the server's hot path; fills a fixed Query, allocates nothing;
//  - parse_message(): every section kept (tests, the fuzzer, the forwarder's reply check).
// Record data is not interpreted (Seed never needs a query's RDATA), only bounds-checked.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/error.hpp"
#include "net/dns/name.hpp"
#include "net/dns/wire.hpp"

namespace seed::net::dns {

struct Question {
  Name name;
  uint16_t type = 0;
  uint16_t klass = class_in;
};

struct Edns {
  uint16_t udp_size = 512;  // what the requester can receive; values below 512 mean 512
  uint8_t version = 0;
  uint8_t ext_rcode = 0;
  bool dnssec_ok = false;
};

struct Record {
  Name name;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  size_t rdata_offset = 0;  // into the parsed packet
  uint16_t rdata_size = 0;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<Record> answers, authority, additional;  // additional without the OPT record
  std::optional<Edns> edns;
};

struct Query {
  Header header;
  Question question;  // valid when header.qdcount == 1
  std::optional<Edns> edns;
};

// Either the parsed value or the first fault found. For a packet of at least 12 bytes the
// header is always decoded (the server needs the id to answer FORMERR).
struct ParseFault {
  WireFault fault;
  size_t offset;
};

std::optional<ParseFault> parse_query(std::span<const uint8_t> packet, Query& out);
Result<Message> parse_message(std::span<const uint8_t> packet);

}  // namespace seed::net::dns
