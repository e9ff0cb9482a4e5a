// Test helpers: build a query the way a stub resolver would, and read answers back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/dns/message.hpp"
#include "net/dns/wire.hpp"

namespace seed::net::dns::testing {

struct QueryOptions {
  uint16_t id = 0x4242;
  bool rd = true;
  std::optional<uint16_t> edns_size;  // adds an OPT record
  uint8_t edns_version = 0;
  bool dnssec_ok = false;  // the OPT's DO bit
  uint16_t klass = class_in;
  uint8_t opcode = 0;
};

inline std::vector<uint8_t> make_query(const std::string& name, uint16_t type, QueryOptions o = {}) {
  std::vector<uint8_t> buf(512);
  WireWriter w(buf.data(), buf.size());
  Header h;
  h.id = o.id;
  h.rd = o.rd;
  h.opcode = o.opcode;
  h.qdcount = 1;
  h.arcount = o.edns_size ? 1 : 0;
  w.bytes(std::vector<uint8_t>(header_size, 0));
  w.name_uncompressed(*Name::from_text(name));
  w.u16(type);
  w.u16(o.klass);
  if (o.edns_size) {
    w.u8(0), w.u16(rrtype::opt), w.u16(*o.edns_size), w.u32(uint32_t(o.edns_version) << 16 | (o.dnssec_ok ? 0x8000u : 0u)),
        w.u16(0);
  }
  h.encode(buf.data());
  buf.resize(w.size());
  return buf;
}

// The rcode including EDNS's upper bits.
inline uint16_t full_rcode(const Message& m, const std::vector<uint8_t>& packet) {
  uint16_t rc = m.header.rcode;
  (void)packet;
  if (m.edns) rc = uint16_t(rc | uint16_t(m.edns->ext_rcode) << 4);
  return rc;
}

inline std::string rdata_ipv4(const std::vector<uint8_t>& packet, const Record& r) {
  if (r.rdata_size != 4) return "?";
  const uint8_t* p = packet.data() + r.rdata_offset;
  return std::to_string(p[0]) + "." + std::to_string(p[1]) + "." + std::to_string(p[2]) + "." +
         std::to_string(p[3]);
}

}  // namespace seed::net::dns::testing
