#include "net/dns/message.hpp"

#include <string>

namespace seed::net::dns {

namespace {

// One walk over the packet. `on_question` and `on_record(section, record)` receive each entry;
// the OPT record is decoded into `edns` instead. Returns the first fault.
template <class OnQuestion, class OnRecord>
std::optional<ParseFault> walk(std::span<const uint8_t> packet, Header& header,
                               std::optional<Edns>& edns, OnQuestion on_question,
                               OnRecord on_record) {
  if (packet.size() < header_size) return ParseFault{WireFault::truncated, packet.size()};
  header = Header::decode(packet.data());
  // Every question takes at least 5 bytes and every record 11: a cheap bound before walking.
  size_t min_size = header_size + size_t(header.qdcount) * 5 +
                    (size_t(header.ancount) + header.nscount + header.arcount) * 11;
  if (min_size > packet.size()) return ParseFault{WireFault::bad_count, header_size};

  WireReader r(packet, header_size);
  WireFault fault{};
  for (unsigned i = 0; i < header.qdcount; ++i) {
    Question q;
    size_t at = r.pos();
    if (!r.name(q.name, fault)) return ParseFault{fault, at};
    if (!r.u16(q.type) || !r.u16(q.klass)) return ParseFault{WireFault::truncated, r.pos()};
    on_question(q);
  }
  const uint16_t counts[3] = {header.ancount, header.nscount, header.arcount};
  for (int section = 0; section < 3; ++section) {
    for (unsigned i = 0; i < counts[section]; ++i) {
      Record rec;
      size_t at = r.pos();
      if (!r.name(rec.name, fault)) return ParseFault{fault, at};
      if (!r.u16(rec.type) || !r.u16(rec.klass) || !r.u32(rec.ttl) || !r.u16(rec.rdata_size)) {
        return ParseFault{WireFault::truncated, r.pos()};
      }
      rec.rdata_offset = r.pos();
      if (!r.skip(rec.rdata_size)) return ParseFault{WireFault::truncated, r.pos()};
      if (rec.type == rrtype::opt) {
        // RFC 6891 6.1.1: only in the additional section, only once, owned by the root.
        if (section != 2 || edns || !rec.name.is_root()) return ParseFault{WireFault::bad_opt, at};
        Edns e;
        e.udp_size = rec.klass < 512 ? uint16_t(512) : rec.klass;
        e.ext_rcode = uint8_t(rec.ttl >> 24);
        e.version = uint8_t(rec.ttl >> 16);
        e.dnssec_ok = rec.ttl & 0x8000;
        // Options are a sequence of {code, length, data}: they must tile RDATA exactly.
        WireReader opts(packet.first(rec.rdata_offset + rec.rdata_size), rec.rdata_offset);
        while (opts.remaining() > 0) {
          uint16_t code = 0, len = 0;
          if (!opts.u16(code) || !opts.u16(len) || !opts.skip(len)) {
            return ParseFault{WireFault::bad_opt, at};
          }
        }
        edns = e;
        continue;
      }
      on_record(section, rec);
    }
  }
  if (r.remaining() != 0) return ParseFault{WireFault::trailing_bytes, r.pos()};
  return std::nullopt;
}

}  // namespace

std::optional<ParseFault> parse_query(std::span<const uint8_t> packet, Query& out) {
  out.edns.reset();
  bool first = true;
  return walk(
      packet, out.header, out.edns,
      [&](const Question& q) {
        if (first) out.question = q;
        first = false;
      },
      [](int, const Record&) {});
}

Result<Message> parse_message(std::span<const uint8_t> packet) {
  Message m;
  auto fault = walk(
      packet, m.header, m.edns, [&](const Question& q) { m.questions.push_back(q); },
      [&](int section, const Record& rec) {
        (section == 0 ? m.answers : section == 1 ? m.authority : m.additional).push_back(rec);
      });
  if (fault) {
    return make_error(Errc::protocol, "malformed DNS message: " + std::string(to_string(fault->fault)))
        .with("offset", std::to_string(fault->offset))
        .with("size", std::to_string(packet.size()));
  }
  return m;
}

}  // namespace seed::net::dns
