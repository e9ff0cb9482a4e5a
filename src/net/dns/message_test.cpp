// Wire-format tests: golden packets in both directions, compression, every malformed case.
#include "net/dns/message.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "net/dns/wire.hpp"

namespace seed::net::dns {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes header(uint16_t id, uint8_t flags1, uint8_t flags2, uint16_t qd, uint16_t an, uint16_t ns,
             uint16_t ar) {
  return {uint8_t(id >> 8), uint8_t(id), flags1, flags2, uint8_t(qd >> 8), uint8_t(qd),
          uint8_t(an >> 8), uint8_t(an), uint8_t(ns >> 8), uint8_t(ns), uint8_t(ar >> 8), uint8_t(ar)};
}

void append(Bytes& b, std::initializer_list<uint8_t> more) { b.insert(b.end(), more); }
void append_name(Bytes& b, std::string_view text) {
  auto n = *Name::from_text(text);
  b.insert(b.end(), n.wire().begin(), n.wire().end());
}

// What `dig +noedns web.team.seed.test A` sends (id 0x1234, RD).
Bytes golden_query() {
  Bytes b = header(0x1234, 0x01, 0x00, 1, 0, 0, 0);
  append_name(b, "web.team.seed.test");
  append(b, {0, 1, 0, 1});
  return b;
}

WireFault fault_of(const Bytes& b) {
  Query q;
  auto f = parse_query(b, q);
  EXPECT_TRUE(f.has_value());
  return f ? f->fault : WireFault::trailing_bytes;
}

TEST(DnsMessage, ParsesGoldenQuery) {
  Query q;
  Bytes b = golden_query();
  ASSERT_FALSE(parse_query(b, q));
  EXPECT_EQ(q.header.id, 0x1234);
  EXPECT_TRUE(q.header.rd);
  EXPECT_FALSE(q.header.qr);
  EXPECT_EQ(q.header.qdcount, 1);
  EXPECT_EQ(q.question.name.to_text(), "web.team.seed.test.");
  EXPECT_EQ(q.question.type, rrtype::a);
  EXPECT_EQ(q.question.klass, class_in);
  EXPECT_FALSE(q.edns);
}

TEST(DnsMessage, ParsesEdnsOpt) {
  Bytes b = golden_query();
  b[11] = 1;  // arcount
  // OPT: root, type 41, payload 4096, ext-rcode 0, version 0, DO, one cookie option (8 bytes).
  append(b, {0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 12, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8});
  Query q;
  ASSERT_FALSE(parse_query(b, q));
  ASSERT_TRUE(q.edns);
  EXPECT_EQ(q.edns->udp_size, 4096);
  EXPECT_EQ(q.edns->version, 0);
  EXPECT_TRUE(q.edns->dnssec_ok);
}

TEST(DnsMessage, SmallEdnsPayloadMeans512) {
  Bytes b = golden_query();
  b[11] = 1;
  append(b, {0, 0, 41, 0x00, 0x10, 0, 0, 0, 0, 0, 0});
  Query q;
  ASSERT_FALSE(parse_query(b, q));
  EXPECT_EQ(q.edns->udp_size, 512);
}

TEST(DnsMessage, DecompressesBackwardPointers) {
  // Question web.seed.test, then an answer whose owner is a pointer to offset 12 and a second
  // record "mail" + pointer to "seed.test" inside the first name.
  Bytes b = header(7, 0x84, 0, 1, 2, 0, 0);
  append_name(b, "web.seed.test");
  append(b, {0, 1, 0, 1});
  append(b, {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1});
  append(b, {4, 'm', 'a', 'i', 'l', 0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 2});
  auto m = parse_message(b);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  ASSERT_EQ(m->answers.size(), 2u);
  EXPECT_EQ(m->answers[0].name.to_text(), "web.seed.test.");
  EXPECT_EQ(m->answers[1].name.to_text(), "mail.seed.test.");
  EXPECT_EQ(m->answers[1].rdata_size, 4);
  EXPECT_EQ(b[m->answers[1].rdata_offset + 3], 2);
}

TEST(DnsMessage, RejectsTruncatedPackets) {
  Bytes b = golden_query();
  for (size_t len = 0; len < b.size(); ++len) {
    Bytes cut(b.begin(), b.begin() + long(len));
    Query q;
    auto f = parse_query(cut, q);
    ASSERT_TRUE(f.has_value()) << "length " << len;
    EXPECT_TRUE(f->fault == WireFault::truncated || f->fault == WireFault::bad_count) << len;
  }
}

TEST(DnsMessage, RejectsSelfAndForwardPointers) {
  Bytes self = header(1, 0, 0, 1, 0, 0, 0);
  append(self, {0xc0, 12, 0, 1, 0, 1});  // points at itself: the shortest loop
  EXPECT_EQ(fault_of(self), WireFault::forward_pointer);

  Bytes fwd = header(1, 0, 0, 1, 0, 0, 0);
  append(fwd, {0xc0, 14, 0, 1, 0, 1, 0});
  EXPECT_EQ(fault_of(fwd), WireFault::forward_pointer);
}

TEST(DnsMessage, RejectsPointerLoopsBetweenTwoNames) {
  // Name at 12: label "a" then pointer to 17; name at 17 (answer owner): pointer back to 12.
  // Following it: 12 → 'a' → ptr 17 → ptr 12 (backwards from 17) → 'a' → ptr 17 (forward
  // from 14): rejected before it can spin.
  Bytes b = header(1, 0x80, 0, 1, 1, 0, 0);
  append(b, {1, 'a', 0xc0, 17, 0, 1, 0, 1});
  append(b, {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(fault_of(b), WireFault::forward_pointer);
}

TEST(DnsMessage, RejectsLongLabelsAndReservedLabelTypes) {
  for (uint8_t len : {uint8_t(64), uint8_t(0x40), uint8_t(0x80), uint8_t(0xbf)}) {
    Bytes b = header(1, 0, 0, 1, 0, 0, 0);
    b.push_back(len);
    b.insert(b.end(), 70, 'x');
    append(b, {0, 0, 1, 0, 1});
    EXPECT_EQ(fault_of(b), WireFault::label_too_long) << int(len);
  }
}

TEST(DnsMessage, RejectsNamesOver255Bytes) {
  Bytes b = header(1, 0, 0, 1, 0, 0, 0);
  for (int i = 0; i < 4; ++i) {
    b.push_back(63);
    b.insert(b.end(), 63, 'a');
  }
  append(b, {0, 0, 1, 0, 1});
  EXPECT_EQ(fault_of(b), WireFault::name_too_long);
}

TEST(DnsMessage, RejectsLongNamesBuiltFromPointers) {
  // A 200-byte name, then a second name of 60 bytes + pointer to it: 261 bytes decompressed.
  Bytes b = header(1, 0x80, 0, 1, 1, 0, 0);
  for (int i = 0; i < 4; ++i) {
    b.push_back(49);
    b.insert(b.end(), 49, 'a');
  }
  append(b, {0, 0, 1, 0, 1});
  b.push_back(59);
  b.insert(b.end(), 59, 'b');
  append(b, {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(fault_of(b), WireFault::name_too_long);
}

TEST(DnsMessage, RejectsCountsThePacketCannotHold) {
  Bytes b = golden_query();
  b[6] = 0xff;  // ancount 65280
  EXPECT_EQ(fault_of(b), WireFault::bad_count);
}

TEST(DnsMessage, RejectsTrailingBytes) {
  Bytes b = golden_query();
  b.push_back(0);
  EXPECT_EQ(fault_of(b), WireFault::trailing_bytes);
}

TEST(DnsMessage, RejectsMisplacedOrDuplicateOpt) {
  Bytes opt = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
  Bytes twice = golden_query();
  twice[11] = 2;
  twice.insert(twice.end(), opt.begin(), opt.end());
  twice.insert(twice.end(), opt.begin(), opt.end());
  EXPECT_EQ(fault_of(twice), WireFault::bad_opt);

  Bytes in_answer = golden_query();
  in_answer[7] = 1;
  in_answer.insert(in_answer.end(), opt.begin(), opt.end());
  EXPECT_EQ(fault_of(in_answer), WireFault::bad_opt);

  Bytes not_root = golden_query();
  not_root[11] = 1;
  append(not_root, {1, 'x', 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(fault_of(not_root), WireFault::bad_opt);

  Bytes bad_option = golden_query();  // option length runs past RDATA
  bad_option[11] = 1;
  append(bad_option, {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 4, 0, 10, 0, 9});
  EXPECT_EQ(fault_of(bad_option), WireFault::bad_opt);
}

TEST(DnsMessage, ParseMessageReportsWhereItFailed) {
  Bytes b = golden_query();
  b.resize(20);
  auto m = parse_message(b);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, Errc::protocol);
  EXPECT_NE(m.error().message.find("truncated"), std::string::npos);
  EXPECT_TRUE(m.error().get("offset").has_value());
}

TEST(DnsWireWriter, CompressesRepeatedSuffixesCaseInsensitively) {
  uint8_t buf[512];
  WireWriter w(buf, sizeof buf);
  ASSERT_TRUE(w.name_uncompressed(*Name::from_text("Web.Seed.test")));  // offset 0
  size_t second = w.size();
  ASSERT_TRUE(w.name(*Name::from_text("web.seed.TEST")));  // whole name: pointer to 0
  EXPECT_EQ(w.size() - second, 2u);
  EXPECT_EQ(buf[second], 0xc0);
  EXPECT_EQ(buf[second + 1], 0);
  size_t third = w.size();
  ASSERT_TRUE(w.name(*Name::from_text("ns1.seed.test")));  // "ns1" + pointer to "seed.test"
  Bytes expect = {3, 'n', 's', '1', 0xc0, 4};
  EXPECT_EQ(Bytes(buf + third, buf + w.size()), expect);
  size_t fourth = w.size();
  ASSERT_TRUE(w.name(*Name::from_text("x.ns1.seed.test")));  // pointer into the third name
  expect = {1, 'x', 0xc0, uint8_t(third)};
  EXPECT_EQ(Bytes(buf + fourth, buf + w.size()), expect);
}

TEST(DnsWireWriter, CompressedOutputParsesBack) {
  uint8_t buf[512];
  WireWriter w(buf, sizeof buf);
  Header h;
  h.qr = true;
  h.qdcount = 1;
  h.ancount = 1;
  w.bytes(Bytes(12, 0));
  w.name_uncompressed(*Name::from_text("a.b.c"));
  w.u16(1), w.u16(1);
  w.name(*Name::from_text("z.b.c"));
  w.u16(1), w.u16(1), w.u32(5), w.u16(4), w.u32(0x0a000001);
  h.encode(buf);
  auto m = parse_message({buf, w.size()});
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(m->answers.at(0).name.to_text(), "z.b.c.");
}

TEST(DnsWireWriter, RefusesToGrowPastItsLimitAndRewinds) {
  uint8_t buf[16];
  WireWriter w(buf, 10);
  EXPECT_TRUE(w.u32(1));
  auto m = w.mark();
  EXPECT_FALSE(w.name(*Name::from_text("toolong.example")));
  EXPECT_EQ(w.size(), 4u);  // nothing half-written
  w.rewind(m);
  EXPECT_TRUE(w.u32(2));
  EXPECT_TRUE(w.u16(3));
  EXPECT_FALSE(w.u8(4));
}

TEST(DnsHeader, RoundTripsEveryFlag) {
  Header h;
  h.id = 0xbeef;
  h.qr = h.aa = h.tc = h.rd = h.ra = h.cd = true;
  h.opcode = 5;
  h.rcode = 3;
  h.qdcount = 1, h.ancount = 2, h.nscount = 3, h.arcount = 4;
  uint8_t b[12];
  h.encode(b);
  Header d = Header::decode(b);
  EXPECT_EQ(d.id, 0xbeef);
  EXPECT_TRUE(d.qr && d.aa && d.tc && d.rd && d.ra && d.cd);
  EXPECT_FALSE(d.ad);
  EXPECT_EQ(d.opcode, 5);
  EXPECT_EQ(d.rcode, 3);
  EXPECT_EQ(d.arcount, 4);
}

}  // namespace
}  // namespace seed::net::dns
