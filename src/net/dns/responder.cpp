#include "net/dns/responder.hpp"

#include <algorithm>

namespace seed::net::dns {

namespace {

constexpr size_t opt_size = 11;  // root name, type, class, ttl, rdlength 0

// Writes one resource record; `rdata(w)` writes its data. Returns false (writer rewound) when
// the record does not fit.
template <class F>
bool put_rr(WireWriter& w, const Name& owner, uint16_t type, uint32_t ttl, F rdata) {
  auto m = w.mark();
  if (!w.name(owner) || !w.u16(type) || !w.u16(class_in) || !w.u32(ttl) || !w.u16(0)) {
    w.rewind(m);
    return false;
  }
  size_t len_at = w.size() - 2;
  if (!rdata(w)) {
    w.rewind(m);
    return false;
  }
  w.put_u16_at(len_at, uint16_t(w.size() - len_at - 2));
  return true;
}

bool put_char_strings(WireWriter& w, std::string_view value) {
  // A TXT value longer than 255 bytes travels as several <character-string>s (RFC 1035 3.3.14).
  do {
    std::string_view part = value.substr(0, 255);
    if (!w.u8(uint8_t(part.size())) || !w.bytes(part)) return false;
    value.remove_prefix(part.size());
  } while (!value.empty());
  return true;
}

class Builder {
 public:
  Builder(std::span<uint8_t> out, size_t limit, const Query& q, bool have_question)
      : w_(out.data(), std::min(limit, out.size())) {
    h_.id = q.header.id;
    h_.qr = true;
    h_.opcode = q.header.opcode;
    h_.rd = q.header.rd;
    h_.cd = q.header.cd;
    edns_ = q.edns.has_value();
    dnssec_ok_ = edns_ && q.edns->dnssec_ok;
    // Room for the OPT record is kept back from the start so it always fits.
    if (edns_) w_.set_limit(w_.limit() - opt_size);
    w_.u16(0), w_.u16(0), w_.u16(0), w_.u16(0), w_.u16(0), w_.u16(0);  // header, filled at end
    if (have_question) {
      w_.name_uncompressed(q.question.name);
      w_.u16(q.question.type);
      w_.u16(q.question.klass);
      h_.qdcount = 1;
    }
    body_ = w_.mark();
  }

  Header& header() { return h_; }
  WireWriter& writer() { return w_; }
  uint16_t* section(int s) { return s == 0 ? &h_.ancount : s == 1 ? &h_.nscount : &h_.arcount; }

  template <class F>
  void rr(int section_index, const Name& owner, uint16_t type, uint32_t ttl, F rdata) {
    if (truncated_) return;
    if (put_rr(w_, owner, type, ttl, rdata)) {
      ++*section(section_index);
      return;
    }
    // Did not fit: drop every record (a partial RRset would mislead a cache) and set TC so
    // the client asks again over TCP.
    truncated_ = true;
    w_.rewind(body_);
    h_.ancount = h_.nscount = h_.arcount = 0;
    h_.tc = true;
  }

  Outcome finish(Rcode rcode) {
    uint16_t code = uint16_t(rcode);
    h_.rcode = uint8_t(code & 0x0f);
    if (edns_) {
      w_.set_limit(w_.limit() + opt_size);
      // OPT: our payload size, the upper rcode bits, version 0, and the query's DO bit copied
      // (RFC 3225 §3: it says the client can take DNSSEC records; the zone has none to add).
      w_.u8(0), w_.u16(rrtype::opt), w_.u16(uint16_t(advertised_)),
          w_.u32(uint32_t(code >> 4) << 24 | (dnssec_ok_ ? 0x8000u : 0u)), w_.u16(0);
      ++h_.arcount;
    }
    h_.encode(w_.data());
    return {Action::reply, w_.size(), rcode};
  }

  void set_advertised(size_t n) { advertised_ = n; }

 private:
  WireWriter w_;
  Header h_;
  bool edns_ = false;
  bool dnssec_ok_ = false;
  bool truncated_ = false;
  size_t advertised_ = 1232;
  WireWriter::Mark body_{};
};

struct Lookup {
  const ZoneNode* node = nullptr;
  const std::vector<std::string>* txt = nullptr;
  bool exists = false;
};

Lookup lookup(const ZoneSnapshot& snap, const Name& name) {
  uint8_t buf[max_name_wire];
  name.key_into(buf);
  std::string_view key(reinterpret_cast<const char*>(buf), name.wire_size());
  Lookup l;
  l.node = snap.zone->find(key);
  auto t = snap.acme->txt.find(key);
  if (t != snap.acme->txt.end()) l.txt = &t->second;
  l.exists = l.node || l.txt || snap.acme->ancestors.count(key) > 0;
  return l;
}

void add_soa(Builder& b, int section, const Zone& z, uint32_t ttl) {
  const auto& c = z.config();
  b.rr(section, z.apex(), rrtype::soa, ttl, [&](WireWriter& w) {
    return w.name(z.nameservers().front()) && w.name(z.hostmaster()) && w.u32(z.serial()) &&
           w.u32(c.refresh) && w.u32(c.retry) && w.u32(c.expire) && w.u32(c.negative_ttl);
  });
}

// Answers for a name that exists: the RRset of the asked type, or nothing (NODATA).
// Returns whether anything was added to the answer section.
bool add_answers(Builder& b, const ZoneSnapshot& snap, const Lookup& l, const Name& owner,
                 uint16_t qtype) {
  const Zone& z = *snap.zone;
  const uint32_t ttl = z.config().ttl;
  uint16_t before = b.header().ancount;
  const ZoneNode* n = l.node;
  if (qtype == rrtype::any) {
    // RFC 8482: no full dump (it is the classic amplification query); one synthesized HINFO.
    b.rr(0, owner, rrtype::hinfo, ttl, [](WireWriter& w) {
      return put_char_strings(w, "RFC8482") && put_char_strings(w, "");
    });
    return true;
  }
  if (n && (qtype == rrtype::a || qtype == rrtype::aaaa)) {
    if (qtype == rrtype::a) {
      for (const auto& ip : n->a) b.rr(0, owner, rrtype::a, ttl, [&](WireWriter& w) { return w.bytes(ip); });
    } else {
      for (const auto& ip : n->aaaa) b.rr(0, owner, rrtype::aaaa, ttl, [&](WireWriter& w) { return w.bytes(ip); });
    }
  }
  if (n && n->apex && qtype == rrtype::soa) add_soa(b, 0, z, ttl);
  if (n && n->apex && qtype == rrtype::ns) {
    for (const auto& ns : z.nameservers()) {
      b.rr(0, owner, rrtype::ns, ttl, [&](WireWriter& w) { return w.name(ns); });
    }
    // Glue: the addresses of in-zone name servers, so a resolver need not ask again.
    for (const auto& ns : z.nameservers()) {
      const ZoneNode* g = z.find(ns);
      if (!g) continue;
      for (const auto& ip : g->a) b.rr(2, ns, rrtype::a, ttl, [&](WireWriter& w) { return w.bytes(ip); });
      for (const auto& ip : g->aaaa) b.rr(2, ns, rrtype::aaaa, ttl, [&](WireWriter& w) { return w.bytes(ip); });
    }
  }
  if (n && n->apex && qtype == rrtype::caa) {
    // RFC 8659 §4.2: flags, tag length, tag, value (the rest of the RDATA, no length byte).
    for (const auto& c : snap.acme->caa) {
      b.rr(0, owner, rrtype::caa, ttl, [&](WireWriter& w) {
        return w.u8(c.flags) && w.u8(uint8_t(c.tag.size())) && w.bytes(c.tag) && w.bytes(c.value);
      });
    }
  }
  if (l.txt && qtype == rrtype::txt) {
    // Challenge values change within seconds of an ACME order: a short TTL.
    for (const auto& v : *l.txt) {
      b.rr(0, owner, rrtype::txt, 0, [&](WireWriter& w) { return put_char_strings(w, v); });
    }
  }
  return b.header().ancount != before || b.header().tc;
}

bool is_short_name(const Name& n) { return n.label_count() == 1; }

}  // namespace

size_t error_response(std::span<const uint8_t> query, Rcode rcode, bool ra, std::span<uint8_t> out,
                      bool tc) {
  Query q;
  auto fault = parse_query(query, q);
  if (query.size() < header_size) return 0;
  if (fault) q.edns.reset();
  Builder b(out, out.size(), q, !fault && q.header.qdcount == 1);
  b.header().ra = ra;
  b.header().tc = tc;
  return b.finish(rcode).size;
}

Outcome respond(const ZoneSnapshot& snap, std::span<const uint8_t> query, const Caller& caller,
                const ResponderLimits& limits, std::span<uint8_t> out) {
  Query q;
  auto fault = parse_query(query, q);
  if (query.size() < header_size || q.header.qr) return {};  // never answer a response

  size_t limit = max_message;
  if (!caller.tcp) {
    limit = q.edns ? std::clamp<size_t>(q.edns->udp_size, classic_udp_limit, limits.max_udp_payload)
                   : classic_udp_limit;
  }
  bool one_question = !fault && q.header.qdcount == 1;
  Builder b(out, limit, q, one_question);
  b.set_advertised(limits.max_udp_payload);
  b.header().ra = caller.guest && caller.can_forward && q.header.rd;

  if (fault && fault->fault == WireFault::bad_opt) {
    // A malformed or repeated OPT (RFC 6891 §6.1.1, §7): FORMERR, still with the question (the
    // questions precede every record, so they parsed) and with an OPT of our own, which tells
    // the client we speak EDNS and it was the OPT that was wrong.
    if (!q.edns) q.edns = Edns{};
    Builder formerr(out, classic_udp_limit, q, q.header.qdcount == 1);
    formerr.set_advertised(limits.max_udp_payload);
    return formerr.finish(Rcode::formerr);
  }
  if (fault) {
    q.edns.reset();  // what else the packet held is unknown: the bare header's FORMERR
    return Builder(out, classic_udp_limit, q, false).finish(Rcode::formerr);
  }
  if (q.header.opcode != 0) return b.finish(Rcode::notimp);
  if (!one_question) return b.finish(Rcode::formerr);
  if (q.edns && q.edns->version != 0) return b.finish(Rcode::badvers);

  const Question& qn = q.question;
  const Zone& z = *snap.zone;
  if (qn.klass != class_in || qn.type == rrtype::axfr || qn.type == rrtype::ixfr) {
    return b.finish(Rcode::refused);  // no other classes, no zone transfers
  }

  if (!qn.name.is_at_or_below(z.apex())) {
    if (caller.guest && caller.ns && is_short_name(qn.name)) {
      // `api` from a guest of namespace `team` means api.team.<domain>.
      auto full = z.apex().prepend(*caller.ns);
      if (full) full = full->prepend(qn.name.first_label());
      if (full) {
        Lookup l = lookup(snap, *full);
        if (l.node && !l.node->ns.empty()) {
          add_answers(b, snap, l, qn.name, qn.type);
          return b.finish(Rcode::noerror);
        }
      }
    }
    if (caller.guest && caller.can_forward) return {Action::forward, 0, Rcode::noerror};
    return b.finish(Rcode::refused);  // not ours, and no recursion on the public side
  }

  b.header().aa = true;
  Lookup l = lookup(snap, qn.name);
  if (!l.exists) {
    add_soa(b, 1, z, std::min(z.config().ttl, z.config().negative_ttl));
    return b.finish(Rcode::nxdomain);
  }
  if (!add_answers(b, snap, l, qn.name, qn.type)) {
    add_soa(b, 1, z, std::min(z.config().ttl, z.config().negative_ttl));  // NODATA
  }
  return b.finish(Rcode::noerror);
}

}  // namespace seed::net::dns
