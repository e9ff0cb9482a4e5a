// The responder's protocol decisions, checked on the bytes it produces (parsed back).
#include "net/dns/responder.hpp"

#include <gtest/gtest.h>

#include "net/dns/testing/dns_packets.hpp"

namespace seed::net::dns {
namespace {

using testing::make_query;
using testing::QueryOptions;

Caller tcp_caller() {
  Caller c;
  c.tcp = true;
  return c;
}
QueryOptions opts_class(uint16_t klass) {
  QueryOptions o;
  o.klass = klass;
  return o;
}
QueryOptions opts_edns(uint16_t size, uint8_t version = 0) {
  QueryOptions o;
  o.edns_size = size;
  o.edns_version = version;
  return o;
}
QueryOptions opts_opcode(uint8_t opcode) {
  QueryOptions o;
  o.opcode = opcode;
  return o;
}

class DnsResponder : public ::testing::Test {
 protected:
  void SetUp() override {
    ZoneConfig c;
    c.domain = "seed.test";
    c.nameservers = {{"ns1.seed.test", "192.0.2.53", "2001:db8::53"}};
    c.ttl = 60;
    c.negative_ttl = 30;
    store_ = std::move(ZoneStore::create(c).value());
    ASSERT_TRUE(store_->replace({{"team", "web", "10.0.0.2", "fd00::2"},
                                 {"team", "api", "10.0.0.3", ""},
                                 {"other", "api", "10.0.1.3", ""}}).ok());
  }

  // Responds and parses the response back; fails the test on malformed output.
  Message ask(const std::vector<uint8_t>& query, Caller caller = {}) {
    out_.assign(max_message, 0);
    Outcome o = respond(store_->snapshot(), query, caller, limits_, out_);
    EXPECT_EQ(o.action, Action::reply);
    out_.resize(o.size);
    auto m = parse_message(out_);
    EXPECT_TRUE(m.ok()) << m.error().describe();
    EXPECT_TRUE(m->header.qr);
    return m.ok() ? *m : Message{};
  }

  std::unique_ptr<ZoneStore> store_;
  ResponderLimits limits_;
  std::vector<uint8_t> out_;
};

TEST_F(DnsResponder, AnswersARecordsAuthoritativelyEchoingTheQuestionCase) {
  Message m = ask(make_query("WeB.TEAM.seed.test", rrtype::a));
  EXPECT_EQ(m.header.id, 0x4242);
  EXPECT_TRUE(m.header.aa);
  EXPECT_FALSE(m.header.ra);  // public side: no recursion
  EXPECT_TRUE(m.header.rd);   // copied
  EXPECT_EQ(m.header.rcode, 0);
  ASSERT_EQ(m.questions.size(), 1u);
  std::string asked(reinterpret_cast<const char*>(m.questions[0].name.wire().data()), m.questions[0].name.wire_size());
  EXPECT_EQ(asked, std::string("\3WeB\4TEAM\4seed\4test\0", 20));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].type, rrtype::a);
  EXPECT_EQ(m.answers[0].ttl, 60u);
  EXPECT_EQ(testing::rdata_ipv4(out_, m.answers[0]), "10.0.0.2");
  // The owner is compressed to a pointer at the question.
  EXPECT_EQ(out_[12 + 20 + 4], 0xc0);
  EXPECT_EQ(out_[12 + 20 + 4 + 1], 12);
}

TEST_F(DnsResponder, AnswersAaaa) {
  Message m = ask(make_query("web.team.seed.test", rrtype::aaaa));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].rdata_size, 16);
  EXPECT_EQ(out_[m.answers[0].rdata_offset], 0xfd);
}

TEST_F(DnsResponder, NodataHasSoaWithNegativeTtl) {
  Message m = ask(make_query("api.team.seed.test", rrtype::aaaa));
  EXPECT_EQ(m.header.rcode, 0);
  EXPECT_TRUE(m.header.aa);
  EXPECT_TRUE(m.answers.empty());
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(m.authority[0].type, rrtype::soa);
  EXPECT_EQ(m.authority[0].ttl, 30u);
  EXPECT_EQ(m.authority[0].name.to_text(), "seed.test.");
}

TEST_F(DnsResponder, EmptyNonTerminalIsNodataNotNxdomain) {
  Message m = ask(make_query("team.seed.test", rrtype::a));
  EXPECT_EQ(m.header.rcode, 0);
  EXPECT_EQ(m.authority.size(), 1u);
}

TEST_F(DnsResponder, NxdomainHasSoa) {
  Message m = ask(make_query("nope.team.seed.test", rrtype::a));
  EXPECT_EQ(m.header.rcode, uint8_t(Rcode::nxdomain));
  EXPECT_TRUE(m.header.aa);
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(m.authority[0].type, rrtype::soa);
}

TEST_F(DnsResponder, ApexSoaAndNsWithGlue) {
  Message soa = ask(make_query("seed.test", rrtype::soa));
  ASSERT_EQ(soa.answers.size(), 1u);
  EXPECT_EQ(soa.answers[0].type, rrtype::soa);
  Message ns = ask(make_query("SEED.test", rrtype::ns));
  ASSERT_EQ(ns.answers.size(), 1u);
  EXPECT_EQ(ns.answers[0].type, rrtype::ns);
  ASSERT_EQ(ns.additional.size(), 2u);  // A and AAAA glue of ns1.seed.test
  EXPECT_EQ(ns.additional[0].name, *Name::from_text("ns1.seed.test"));
  EXPECT_EQ(testing::rdata_ipv4(out_, ns.additional[0]), "192.0.2.53");
  EXPECT_EQ(ns.additional[1].type, rrtype::aaaa);
  Message glue = ask(make_query("ns1.seed.test", rrtype::a));
  EXPECT_EQ(glue.answers.size(), 1u);
}

TEST_F(DnsResponder, RefusesOutsideTheZoneOnThePublicSide) {
  Message m = ask(make_query("example.com", rrtype::a));
  EXPECT_EQ(m.header.rcode, uint8_t(Rcode::refused));
  EXPECT_FALSE(m.header.aa);
  EXPECT_FALSE(m.header.ra);
  EXPECT_TRUE(m.answers.empty());
  // Short names mean nothing on the public side either.
  EXPECT_EQ(ask(make_query("api", rrtype::a)).header.rcode, uint8_t(Rcode::refused));
}

TEST_F(DnsResponder, AcmeTxtRecordsAppearAndDisappear) {
  std::string owner = "_acme-challenge.web.team.seed.test";
  EXPECT_EQ(ask(make_query(owner, rrtype::txt)).header.rcode, uint8_t(Rcode::nxdomain));
  ASSERT_TRUE(store_->set_acme_challenge(owner, "abc").ok());
  Message m = ask(make_query(owner, rrtype::txt));
  EXPECT_EQ(m.header.rcode, 0);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].type, rrtype::txt);
  EXPECT_EQ(m.answers[0].rdata_size, 4);
  EXPECT_EQ(std::string(out_.begin() + long(m.answers[0].rdata_offset) + 1, out_.begin() + long(m.answers[0].rdata_offset) + 4), "abc");
  EXPECT_EQ(ask(make_query(owner, rrtype::a)).authority.size(), 1u);  // NODATA for A
  ASSERT_TRUE(store_->clear_acme_challenge(owner).ok());
  EXPECT_EQ(ask(make_query(owner, rrtype::txt)).header.rcode, uint8_t(Rcode::nxdomain));
}

TEST_F(DnsResponder, ApexCaaNamesTheCaAndAccountAndForbidsWildcards) {
  EXPECT_TRUE(ask(make_query("seed.test", rrtype::caa)).answers.empty());  // NODATA until set
  ASSERT_TRUE(store_->set_caa(caa_for_account("letsencrypt.org", "https://ca.test/acct/7")).ok());
  Message m = ask(make_query("seed.test", rrtype::caa));
  ASSERT_EQ(m.answers.size(), 2u);
  auto rdata = [&](const Record& r) {
    return std::string(out_.begin() + long(r.rdata_offset), out_.begin() + long(r.rdata_offset + r.rdata_size));
  };
  EXPECT_EQ(m.answers[0].type, rrtype::caa);
  EXPECT_EQ(rdata(m.answers[0]), std::string("\0\5", 2) + "issueletsencrypt.org; accounturi=https://ca.test/acct/7");
  EXPECT_EQ(rdata(m.answers[1]), std::string("\0\11", 2) + "issuewild;");
  // Only the apex has CAA (a resolver climbs to it, RFC 8659 §3); a bad tag keeps the old set.
  EXPECT_TRUE(ask(make_query("web.team.seed.test", rrtype::caa)).answers.empty());
  EXPECT_FALSE(store_->set_caa({{0, "no such tag", "x"}}).ok());
  EXPECT_EQ(ask(make_query("seed.test", rrtype::caa)).answers.size(), 2u);
  // Challenge records leave the CAA set alone.
  ASSERT_TRUE(store_->set_acme_challenge("_acme-challenge.web.team.seed.test", "v").ok());
  EXPECT_EQ(ask(make_query("seed.test", rrtype::caa)).answers.size(), 2u);
  ASSERT_TRUE(store_->set_caa({}).ok());
  EXPECT_TRUE(ask(make_query("seed.test", rrtype::caa)).answers.empty());
}

TEST_F(DnsResponder, LongTxtValuesAreSplitIntoCharacterStrings) {
  ASSERT_TRUE(store_->set_acme_challenge("_acme-challenge.x.seed.test", std::string(300, 'v')).ok());
  Message m = ask(make_query("_acme-challenge.x.seed.test", rrtype::txt), tcp_caller());
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].rdata_size, 302);
  EXPECT_EQ(out_[m.answers[0].rdata_offset], 255);
  EXPECT_EQ(out_[m.answers[0].rdata_offset + 256], 45);
}

TEST_F(DnsResponder, TruncatesOverUdpButNotOverTcp) {
  std::string owner = "_acme-challenge.big.seed.test";
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(store_->set_acme_challenge(owner, std::string(60, char('a' + i))).ok());
  Message udp = ask(make_query(owner, rrtype::txt));
  EXPECT_TRUE(udp.header.tc);
  EXPECT_TRUE(udp.answers.empty());  // no partial RRset
  EXPECT_LE(out_.size(), 512u);
  Message edns = ask(make_query(owner, rrtype::txt, opts_edns(4096)));
  EXPECT_FALSE(edns.header.tc);
  EXPECT_EQ(edns.answers.size(), 12u);
  EXPECT_LE(out_.size(), limits_.max_udp_payload);
  ASSERT_TRUE(edns.edns);
  Message tcp = ask(make_query(owner, rrtype::txt), tcp_caller());
  EXPECT_FALSE(tcp.header.tc);
  EXPECT_EQ(tcp.answers.size(), 12u);
}

TEST_F(DnsResponder, EdnsPayloadIsCappedByOurLimit) {
  std::string owner = "_acme-challenge.big.seed.test";
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(store_->set_acme_challenge(owner, std::string(100, char('a' + i))).ok());
  Message m = ask(make_query(owner, rrtype::txt, opts_edns(65000)));
  EXPECT_TRUE(m.header.tc);  // ~1.8 kB of TXT does not fit our 1232
  EXPECT_LE(out_.size(), 1232u);
}

TEST_F(DnsResponder, AnyGetsOneSmallHinfo) {
  Message m = ask(make_query("web.team.seed.test", rrtype::any, opts_edns(4096)));
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].type, rrtype::hinfo);
  EXPECT_LT(out_.size(), 100u);
}

TEST_F(DnsResponder, RefusesZoneTransfersAndOtherClasses) {
  EXPECT_EQ(ask(make_query("seed.test", rrtype::axfr)).header.rcode, uint8_t(Rcode::refused));
  EXPECT_EQ(ask(make_query("seed.test", rrtype::soa, opts_class(3))).header.rcode, uint8_t(Rcode::refused));
}

TEST_F(DnsResponder, NotimpForOtherOpcodesAndBadversForEdns1) {
  EXPECT_EQ(ask(make_query("seed.test", rrtype::soa, opts_opcode(5))).header.rcode, uint8_t(Rcode::notimp));
  auto q = make_query("seed.test", rrtype::soa, opts_edns(1232, 1));
  Message m = ask(q);
  EXPECT_EQ(testing::full_rcode(m, out_), uint16_t(Rcode::badvers));
  EXPECT_TRUE(m.answers.empty());
}

TEST_F(DnsResponder, FormerrForMalformedQueriesAndSilenceForResponses) {
  auto q = make_query("web.team.seed.test", rrtype::a);
  q.resize(q.size() - 1);
  Message m = ask(q);
  EXPECT_EQ(m.header.rcode, uint8_t(Rcode::formerr));
  EXPECT_EQ(m.header.id, 0x4242);
  EXPECT_TRUE(m.questions.empty());

  auto two = make_query("web.team.seed.test", rrtype::a);
  two[5] = 0;  // qdcount 0
  two.resize(12);
  EXPECT_EQ(ask(two).header.rcode, uint8_t(Rcode::formerr));

  auto response = make_query("web.team.seed.test", rrtype::a);
  response[2] |= 0x80;
  out_.assign(512, 0);
  EXPECT_EQ(respond(store_->snapshot(), response, {}, limits_, out_).action, Action::drop);
  std::vector<uint8_t> runt(11, 0);
  EXPECT_EQ(respond(store_->snapshot(), runt, {}, limits_, out_).action, Action::drop);
}

// The raw OPT TTL field of a response (ext-rcode, version, DO + Z), read from the last
// additional record, which is where the responder writes its OPT.
uint32_t opt_ttl(const std::vector<uint8_t>& packet) { return uint32_t(packet[packet.size() - 6]) << 24 |
  uint32_t(packet[packet.size() - 5]) << 16 | uint32_t(packet[packet.size() - 4]) << 8 | packet[packet.size() - 3]; }

// RFC 3225 §3: the DO bit of the query is copied into the response, whatever the rcode.
TEST_F(DnsResponder, DnssecOkBitIsEchoed) {
  QueryOptions o = opts_edns(1232);
  o.dnssec_ok = true;
  Message m = ask(make_query("web.team.seed.test", rrtype::a, o));
  ASSERT_TRUE(m.edns);
  EXPECT_TRUE(m.edns->dnssec_ok);
  EXPECT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(opt_ttl(out_), 0x8000u);  // version 0, no other bit

  Message nx = ask(make_query("nothing.seed.test", rrtype::a, o));
  EXPECT_EQ(nx.header.rcode, uint8_t(Rcode::nxdomain));
  ASSERT_TRUE(nx.edns);
  EXPECT_TRUE(nx.edns->dnssec_ok);

  Message plain = ask(make_query("web.team.seed.test", rrtype::a, opts_edns(1232)));
  ASSERT_TRUE(plain.edns);
  EXPECT_FALSE(plain.edns->dnssec_ok);  // not set when not asked
}

// RFC 6891 §7: a malformed OPT is FORMERR; like nsd, the answer keeps the question and carries
// our OPT. Both a second OPT and an OPT whose options overrun its data.
TEST_F(DnsResponder, FormerrForABadOptKeepsTheQuestionAndAddsAnOpt) {
  QueryOptions o = opts_edns(1232);
  o.dnssec_ok = true;
  auto twice = make_query("web.team.seed.test", rrtype::a, o);
  std::vector<uint8_t> opt(twice.end() - 11, twice.end());
  twice.insert(twice.end(), opt.begin(), opt.end());
  twice[11] = 2;  // arcount 2: two OPT records
  Message m = ask(twice);
  EXPECT_EQ(m.header.rcode, uint8_t(Rcode::formerr));
  EXPECT_EQ(m.header.id, 0x4242);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].type, rrtype::a);
  ASSERT_TRUE(m.edns);
  EXPECT_EQ(m.edns->udp_size, 1232);
  EXPECT_TRUE(m.edns->dnssec_ok);

  auto overrun = make_query("web.team.seed.test", rrtype::a, opts_edns(1232));
  overrun.back() = 4;  // RDLENGTH 4 ...
  for (uint8_t b : {0, 10, 0, 9}) overrun.push_back(b);  // ... one option claiming 9 bytes of data
  Message bad = ask(overrun);
  EXPECT_EQ(bad.header.rcode, uint8_t(Rcode::formerr));
  ASSERT_EQ(bad.questions.size(), 1u);
  ASSERT_TRUE(bad.edns);
  EXPECT_EQ(bad.edns->version, 0);
}

TEST_F(DnsResponder, GuestShortNamesResolveInTheCallersNamespace) {
  Caller team{true, false, "team", true};
  Caller other{true, false, "other", true};
  Message a = ask(make_query("api", rrtype::a), team);
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(testing::rdata_ipv4(out_, a.answers[0]), "10.0.0.3");
  EXPECT_EQ(a.answers[0].name.to_text(), "api.");  // owner as asked
  EXPECT_TRUE(a.header.ra);
  Message b = ask(make_query("API", rrtype::a), other);
  ASSERT_EQ(b.answers.size(), 1u);
  EXPECT_EQ(testing::rdata_ipv4(out_, b.answers[0]), "10.0.1.3");
  // Full zone names answer the same for guests.
  EXPECT_EQ(ask(make_query("web.team.seed.test", rrtype::a), other).answers.size(), 1u);
}

TEST_F(DnsResponder, GuestForwardsEverythingElse) {
  Caller team{true, false, "team", true};
  Caller other{true, false, "other", true};
  out_.assign(512, 0);
  EXPECT_EQ(respond(store_->snapshot(), make_query("example.com", rrtype::a), team, limits_, out_).action,
            Action::forward);
  EXPECT_EQ(respond(store_->snapshot(), make_query("db", rrtype::a), team, limits_, out_).action,
            Action::forward);  // no `db` in namespace team: maybe the upstream knows it
  EXPECT_EQ(respond(store_->snapshot(), make_query("web", rrtype::a), other, limits_, out_).action,
            Action::forward);  // `web` exists only in namespace team
  Caller unknown{true, false, std::nullopt, true};
  EXPECT_EQ(respond(store_->snapshot(), make_query("api", rrtype::a), unknown, limits_, out_).action,
            Action::forward);
  Caller no_upstream{true, false, "team", false};
  EXPECT_EQ(ask(make_query("example.com", rrtype::a), no_upstream).header.rcode, uint8_t(Rcode::refused));
}

TEST_F(DnsResponder, ErrorResponseKeepsIdAndQuestion) {
  out_.assign(512, 0);
  size_t n = error_response(make_query("example.com", rrtype::a), Rcode::servfail, true, out_, true);
  out_.resize(n);
  auto m = parse_message(out_);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.rcode, uint8_t(Rcode::servfail));
  EXPECT_TRUE(m->header.tc);
  EXPECT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(error_response(std::vector<uint8_t>(5, 0), Rcode::formerr, false, out_), 0u);
}

}  // namespace
}  // namespace seed::net::dns
