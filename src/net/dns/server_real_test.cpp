// The DNS server on real sockets, asked by real dig and kdig, inside a network namespace this
// test creates (so 127.0.0.x:53 is ours and the host is untouched). Three servers run:
//   public   127.0.0.1:53   the node's zone seed.test
//   guest    127.0.0.10:53  the same zone + short names + forwarding to the upstream
//   upstream 127.0.0.20:53  another instance of this server, authoritative for upstream.test
#include <arpa/inet.h>
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/process.hpp"
#include "common/testing/proc_counts.hpp"
#include "net/dns/server.hpp"
#include "net/dns/testing/dns_packets.hpp"
#include "net/dns/testing/netns.hpp"

namespace seed::net::dns {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

using seed::testing::open_fds;

std::string tool(const std::vector<std::string>& argv) {
  SpawnOptions o;
  o.argv = argv;
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.timeout = 10s;
  auto r = run(std::move(o), ro);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().describe());
  return r.ok() ? r->out + r->err : "";
}

// dig against `server`, short timeouts so a missing answer fails fast.
std::string dig(const std::string& server, std::vector<std::string> args) {
  std::vector<std::string> argv = {"dig", "@" + server, "+time=2", "+tries=1"};
  argv.insert(argv.end(), args.begin(), args.end());
  return tool(argv);
}
std::string kdig(const std::string& server, std::vector<std::string> args) {
  std::vector<std::string> argv = {"kdig", "@" + server, "+time=2", "+retry=0"};
  argv.insert(argv.end(), args.begin(), args.end());
  return tool(argv);
}
std::string short_answer(const std::string& server, std::vector<std::string> args) {
  args.push_back("+short");
  return dig(server, args);
}

ZoneConfig seed_zone() {
  ZoneConfig c;
  c.domain = "seed.test";
  c.nameservers = {{"ns1.seed.test", "192.0.2.53", "2001:db8::53"}};
  return c;
}

class DnsServerReal : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* prog : {"dig", "kdig", "ip"}) {
      if (!find_executable(prog)) missing_ = std::string(prog) + " is not installed (scripts/install-deps)";
    }
    if (!missing_.empty()) return;
    auto ns = testing::NetnsScope::enter("seed-dns-test");
    if (!ns) {
      missing_ = ns.error().describe();
      return;
    }
    netns_ = std::move(*ns).release();
    fds_before_ = open_fds();

    zone_ = ZoneStore::create(seed_zone()).value().release();
    ASSERT_TRUE(zone_->replace({{"team", "web", "10.0.0.2", "fd00::2"},
                                {"team", "api", "10.0.0.3", ""},
                                {"other", "api", "10.0.1.3", ""}}).ok());
    ZoneConfig up = seed_zone();
    up.domain = "upstream.test";
    up.nameservers = {{"ns.upstream.test", "127.0.0.20", ""}};
    upstream_zone_ = ZoneStore::create(up).value().release();
    ASSERT_TRUE(upstream_zone_->replace({{"b", "www", "198.51.100.7", ""}}).ok());

    ServerConfig uc;
    uc.public_listen = {"127.0.0.20:53"};
    upstream_ = Server::start(uc, *upstream_zone_).value().release();

    ServerConfig c;
    c.public_listen = {"127.0.0.1:53"};
    c.guest_listen = {"127.0.0.10:53"};
    c.upstream = "127.0.0.20:53";
    c.tcp_idle_timeout = 400ms;
    c.tcp_message_timeout = 1s;
    c.tcp_max_life = 3s;
    c.max_tcp_connections = 8;
    c.max_tcp_per_source = 4;
    c.namespace_of = [](const sockaddr_storage& src) -> std::optional<std::string> {
      std::string a = address_string(src);
      if (a == "127.0.0.2") return "team";
      if (a == "127.0.0.3") return "other";
      return std::nullopt;
    };
    server_ = Server::start(c, *zone_).value().release();
  }

  static void TearDownTestSuite() {
    delete server_;
    delete upstream_;
    delete zone_;
    delete upstream_zone_;
    server_ = upstream_ = nullptr;
    zone_ = upstream_zone_ = nullptr;
    delete netns_;
    netns_ = nullptr;
  }

  void SetUp() override {
    if (!missing_.empty()) GTEST_SKIP() << "cannot run the real DNS tests here: " << missing_;
  }

  static inline std::string missing_;
  static inline testing::NetnsScope* netns_ = nullptr;
  static inline size_t fds_before_ = 0;
  static inline ZoneStore* zone_ = nullptr;
  static inline ZoneStore* upstream_zone_ = nullptr;
  static inline Server* server_ = nullptr;
  static inline Server* upstream_ = nullptr;
};

constexpr const char* pub = "127.0.0.1";
constexpr const char* guest = "127.0.0.10";

TEST_F(DnsServerReal, AandAaaaWithDigAndKdig) {
  EXPECT_EQ(short_answer(pub, {"web.team.seed.test", "A"}), "10.0.0.2\n");
  EXPECT_EQ(short_answer(pub, {"web.team.seed.test", "AAAA"}), "fd00::2\n");
  std::string k = kdig(pub, {"web.team.seed.test", "A"});
  EXPECT_THAT(k, HasSubstr("status: NOERROR"));
  EXPECT_THAT(k, HasSubstr("qr aa rd"));
  EXPECT_THAT(k, HasSubstr("10.0.0.2"));
  EXPECT_THAT(kdig(pub, {"+short", "web.team.seed.test", "AAAA"}), HasSubstr("fd00::2"));
}

TEST_F(DnsServerReal, SoaAndNsWithGlue) {
  std::string soa = short_answer(pub, {"seed.test", "SOA"});
  EXPECT_THAT(soa, HasSubstr("ns1.seed.test. hostmaster.seed.test."));
  std::string ns = dig(pub, {"seed.test", "NS"});
  EXPECT_THAT(ns, HasSubstr("ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 3"));  // + OPT
  EXPECT_THAT(ns, HasSubstr("ns1.seed.test."));
  EXPECT_THAT(ns, HasSubstr("192.0.2.53"));
  EXPECT_THAT(ns, HasSubstr("2001:db8::53"));
  EXPECT_THAT(kdig(pub, {"seed.test", "SOA"}), HasSubstr("hostmaster.seed.test."));
}

TEST_F(DnsServerReal, NxdomainAndNodata) {
  std::string nx = dig(pub, {"nothing.team.seed.test", "A"});
  EXPECT_THAT(nx, HasSubstr("status: NXDOMAIN"));
  EXPECT_THAT(nx, HasSubstr("flags: qr aa rd;"));
  EXPECT_THAT(nx, HasSubstr("AUTHORITY: 1"));
  std::string nodata = dig(pub, {"api.team.seed.test", "AAAA"});
  EXPECT_THAT(nodata, HasSubstr("status: NOERROR"));
  EXPECT_THAT(nodata, HasSubstr("ANSWER: 0, AUTHORITY: 1"));
  EXPECT_THAT(kdig(pub, {"team.seed.test", "A"}), HasSubstr("status: NOERROR"));  // ENT
}

TEST_F(DnsServerReal, AcmeTxtSetAndClear) {
  const std::string owner = "_acme-challenge.web.team.seed.test";
  EXPECT_THAT(dig(pub, {owner, "TXT"}), HasSubstr("status: NXDOMAIN"));
  ASSERT_TRUE(zone_->set_acme_challenge(owner, "dns01-token-value").ok());
  EXPECT_EQ(short_answer(pub, {owner, "TXT"}), "\"dns01-token-value\"\n");
  EXPECT_THAT(kdig(pub, {owner, "TXT"}), HasSubstr("\"dns01-token-value\""));
  ASSERT_TRUE(zone_->clear_acme_challenge(owner, "dns01-token-value").ok());
  EXPECT_THAT(dig(pub, {owner, "TXT"}), HasSubstr("status: NXDOMAIN"));
}

TEST_F(DnsServerReal, ApexCaaWithKdigAndDig) {
  ASSERT_TRUE(zone_->set_caa(caa_for_account("pebble.test", "https://127.0.0.1:14000/my-account/1")).ok());
  const std::string k = kdig(pub, {"seed.test", "CAA"});
  EXPECT_THAT(k, HasSubstr("0 issue \"pebble.test; accounturi=https://127.0.0.1:14000/my-account/1\""));
  EXPECT_THAT(k, HasSubstr("0 issuewild \";\""));
  EXPECT_THAT(dig(pub, {"+short", "seed.test", "CAA"}), HasSubstr("0 issuewild \";\""));
  ASSERT_TRUE(zone_->set_caa({}).ok());
  EXPECT_THAT(kdig(pub, {"seed.test", "CAA"}), HasSubstr("ANSWER: 0"));
}

TEST_F(DnsServerReal, TcpAnswers) {
  EXPECT_EQ(short_answer(pub, {"+tcp", "web.team.seed.test", "A"}), "10.0.0.2\n");
  std::string k = kdig(pub, {"+tcp", "web.team.seed.test", "A"});
  EXPECT_THAT(k, HasSubstr("TCP"));
  EXPECT_THAT(k, HasSubstr("10.0.0.2"));
  // Several queries down one connection (dig keeps it open for a batch).
  std::string many = dig(pub, {"+tcp", "+keepopen", "+short", "web.team.seed.test", "A",
                               "api.team.seed.test", "A", "api.other.seed.test", "A"});
  EXPECT_EQ(many, "10.0.0.2\n10.0.0.3\n10.0.1.3\n");
}

TEST_F(DnsServerReal, EdnsPayloadIsAdvertised) {
  std::string d = dig(pub, {"+bufsize=4096", "web.team.seed.test", "A"});
  EXPECT_THAT(d, HasSubstr("EDNS: version: 0, flags:; udp: 1232"));
  EXPECT_THAT(dig(pub, {"+noedns", "web.team.seed.test", "A"}), Not(HasSubstr("OPT PSEUDOSECTION")));
  EXPECT_THAT(dig(pub, {"+edns=1", "+noednsneg", "web.team.seed.test", "A"}), HasSubstr("status: BADVERS"));
  EXPECT_THAT(kdig(pub, {"+edns", "web.team.seed.test"}), HasSubstr("EDNS PSEUDOSECTION"));
}

TEST_F(DnsServerReal, TruncationThenTcpRetry) {
  const std::string owner = "_acme-challenge.big.seed.test";
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(zone_->set_acme_challenge(owner, std::string(60, char('a' + i))).ok());
  std::string udp = dig(pub, {"+noedns", "+ignore", owner, "TXT"});
  EXPECT_THAT(udp, HasSubstr("flags: qr aa tc rd;"));
  EXPECT_THAT(udp, HasSubstr("ANSWER: 0"));
  std::string retried = dig(pub, {"+noedns", owner, "TXT"});  // dig retries over TCP itself
  EXPECT_THAT(retried, HasSubstr("Truncated, retrying in TCP mode"));
  EXPECT_THAT(retried, HasSubstr("ANSWER: 12"));
  EXPECT_THAT(kdig(pub, {"+bufsize=1232", owner, "TXT"}), HasSubstr("ANSWER: 12"));
  ASSERT_TRUE(zone_->clear_acme_challenge(owner).ok());
}

TEST_F(DnsServerReal, CaseInsensitiveAndEchoedAsAsked) {
  std::string d = dig(pub, {"+noall", "+answer", "+question", "WeB.TeAm.SEED.test", "A"});
  EXPECT_THAT(d, HasSubstr(";WeB.TeAm.SEED.test."));
  EXPECT_THAT(d, HasSubstr("WeB.TeAm.SEED.test.\t60\tIN\tA\t10.0.0.2"));
}

TEST_F(DnsServerReal, RefusedOutsideTheZoneWithoutRecursion) {
  std::string d = dig(pub, {"example.com", "A"});
  EXPECT_THAT(d, HasSubstr("status: REFUSED"));
  EXPECT_THAT(d, HasSubstr("recursion requested but not available"));
  EXPECT_THAT(dig(pub, {"api", "A"}), HasSubstr("status: REFUSED"));
  EXPECT_THAT(dig(pub, {"seed.test", "AXFR"}), HasSubstr("Transfer failed"));
}

TEST_F(DnsServerReal, GuestShortNamesFollowTheCallersNamespace) {
  EXPECT_EQ(short_answer(guest, {"-b", "127.0.0.2", "api", "A"}), "10.0.0.3\n");
  EXPECT_EQ(short_answer(guest, {"-b", "127.0.0.3", "api", "A"}), "10.0.1.3\n");
  EXPECT_EQ(short_answer(guest, {"-b", "127.0.0.2", "+tcp", "api", "A"}), "10.0.0.3\n");
  // The zone's full names work for guests too.
  EXPECT_EQ(short_answer(guest, {"-b", "127.0.0.3", "web.team.seed.test", "A"}), "10.0.0.2\n");
}

TEST_F(DnsServerReal, GuestForwardsOtherNamesUpstream) {
  std::string d = dig(guest, {"-b", "127.0.0.2", "www.b.upstream.test", "A"});
  EXPECT_THAT(d, HasSubstr("198.51.100.7"));
  EXPECT_THAT(d, HasSubstr("flags: qr aa rd;"));  // the upstream's answer, relayed as is
  EXPECT_THAT(kdig(guest, {"+tcp", "www.b.upstream.test", "A"}), HasSubstr("198.51.100.7"));
  EXPECT_THAT(dig(guest, {"-b", "127.0.0.2", "nope.upstream.test", "A"}), HasSubstr("status: NXDOMAIN"));
  EXPECT_GE(server_->stats().forwarded.load(), 3u);
}

TEST_F(DnsServerReal, TruncatedUpstreamAnswersComeWholeOverTcp) {
  const std::string owner = "_acme-challenge.big.upstream.test";
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(upstream_zone_->set_acme_challenge(owner, std::string(60, char('a' + i))).ok());
  }
  // UDP without EDNS: the upstream's TC answer is relayed; dig retries over TCP to the guest
  // listener, which forwards over TCP and relays the whole answer.
  std::string d = dig(guest, {"-b", "127.0.0.2", "+noedns", owner, "TXT"});
  EXPECT_THAT(d, HasSubstr("Truncated, retrying in TCP mode"));
  EXPECT_THAT(d, HasSubstr("ANSWER: 12"));
  EXPECT_THAT(kdig(guest, {"+tcp", owner, "TXT"}), HasSubstr("ANSWER: 12"));
  ASSERT_TRUE(upstream_zone_->clear_acme_challenge(owner).ok());
}

TEST_F(DnsServerReal, UpstreamTimeoutIsServfail) {
  ZoneStore& z = *zone_;
  ServerConfig c;
  c.guest_listen = {"127.0.0.11:53"};
  c.upstream = "127.0.0.99:53";  // nothing listens there
  c.upstream_timeout = 300ms;
  auto s = Server::start(c, z);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_THAT(dig("127.0.0.11", {"example.com", "A"}), HasSubstr("status: SERVFAIL"));
  EXPECT_EQ((*s)->stats().upstream_failures.load(), 1u);
  // Over TCP the upstream connection is refused: SERVFAIL as well, not a hang.
  EXPECT_THAT(dig("127.0.0.11", {"+tcp", "example.com", "A"}), HasSubstr("status: SERVFAIL"));
  EXPECT_EQ((*s)->stats().upstream_failures.load(), 2u);
}

// A raw UDP socket bound to `source`, for counting answers without dig's retries.
struct RawUdp {
  UniqueFd fd;
  explicit RawUdp(const char* source) : fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, source, &a.sin_addr);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  }
  void send_to(const char* server, const std::vector<uint8_t>& b) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(53);
    inet_pton(AF_INET, server, &a.sin_addr);
    ::sendto(fd.get(), b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  // Every datagram that arrives within `wait`.
  std::vector<std::vector<uint8_t>> collect(std::chrono::milliseconds wait) {
    std::vector<std::vector<uint8_t>> got;
    auto end = std::chrono::steady_clock::now() + wait;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      pollfd p{fd.get(), POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) <= 0) return got;
      std::vector<uint8_t> b(65535);
      ssize_t n = ::recv(fd.get(), b.data(), b.size(), 0);
      if (n < 0) return got;
      b.resize(size_t(n));
      got.push_back(std::move(b));
    }
  }
};

TEST_F(DnsServerReal, RateLimitKicksInPerSource) {
  ServerConfig c;
  c.public_listen = {"127.0.0.12:53"};
  c.rate_limit.queries_per_second = 5;
  c.rate_limit.burst = 5;
  c.rate_limit.slip = 0;
  auto s = Server::start(c, *zone_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  RawUdp flood("127.0.0.4");
  for (int i = 0; i < 50; ++i) {
    testing::QueryOptions o;
    o.id = uint16_t(i);
    flood.send_to("127.0.0.12", testing::make_query("web.team.seed.test", rrtype::a, o));
  }
  size_t answered = flood.collect(300ms).size();
  EXPECT_GE(answered, 5u);
  EXPECT_LE(answered, 8u);  // the burst plus what refills in the few ms the loop takes
  EXPECT_GE((*s)->stats().rate_limited.load(), 40u);
  // Another source is not affected, and dig (with its retries) gets through.
  EXPECT_EQ(short_answer("127.0.0.12", {"-b", "127.0.0.5", "web.team.seed.test", "A"}), "10.0.0.2\n");
}

TEST_F(DnsServerReal, BadUdpPacketsGetFormerrOrNothingAndTheServerCarriesOn) {
  RawUdp c("127.0.0.6");
  std::vector<std::vector<uint8_t>> bad = {
      {0x12},                                                           // runt: dropped
      {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'e'},       // truncated name
      {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1},  // pointer loop
      {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 70, 'x', 0, 0, 1, 0, 1},  // label > 63
      std::vector<uint8_t>(5000, 0x41),                                 // oversized garbage
  };
  for (const auto& b : bad) c.send_to(pub, b);
  auto replies = c.collect(300ms);
  EXPECT_EQ(replies.size(), bad.size() - 1);  // all but the runt get FORMERR
  for (const auto& r : replies) {
    ASSERT_GE(r.size(), 12u);
    EXPECT_EQ(r[3] & 0x0f, int(Rcode::formerr));
    EXPECT_LE(r.size(), 512u);
  }
  EXPECT_EQ(short_answer(pub, {"web.team.seed.test", "A"}), "10.0.0.2\n");
}

// Issue 13.6, as dig, kdig and a raw sender see it: DO is echoed (RFC 3225 §3), and a query
// with two OPT records gets FORMERR carrying the question and an OPT (RFC 6891 §7, as nsd does).
TEST_F(DnsServerReal, DoBitEchoedAndBadOptFormerrKeepsQuestionAndOpt) {
  EXPECT_THAT(dig(pub, {"+dnssec", "web.team.seed.test", "A"}), HasSubstr("EDNS: version: 0, flags: do; udp: 1232"));
  EXPECT_THAT(kdig(pub, {"+dnssec", "+tcp", "web.team.seed.test", "A"}), HasSubstr("flags: do"));
  EXPECT_THAT(dig(pub, {"+edns", "web.team.seed.test", "A"}), HasSubstr("EDNS: version: 0, flags:; udp: 1232"));

  testing::QueryOptions o;
  o.edns_size = 1232;
  auto twice = testing::make_query("web.team.seed.test", rrtype::a, o);
  std::vector<uint8_t> opt(twice.end() - 11, twice.end());
  twice.insert(twice.end(), opt.begin(), opt.end());
  twice[11] = 2;  // arcount: two OPTs
  RawUdp c("127.0.0.7");
  c.send_to(pub, twice);
  auto replies = c.collect(300ms);
  ASSERT_EQ(replies.size(), 1u);
  auto m = parse_message(replies[0]);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(m->header.rcode, uint8_t(Rcode::formerr));
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].name.to_text(), "web.team.seed.test.");
  EXPECT_TRUE(m->edns.has_value());
}

TEST_F(DnsServerReal, ForwardedRepliesMustMatchIdAndQuestion) {
  ServerConfig c;
  c.guest_listen = {"127.0.0.13:53"};
  c.upstream = "127.0.0.21:53";  // played by this test, to send forged replies
  auto s = Server::start(c, *zone_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  // The fake upstream: a plain socket on 127.0.0.21:53.
  UniqueFd up(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in ua{};
  ua.sin_family = AF_INET;
  ua.sin_port = htons(53);
  inet_pton(AF_INET, "127.0.0.21", &ua.sin_addr);
  ASSERT_EQ(::bind(up.get(), reinterpret_cast<sockaddr*>(&ua), sizeof ua), 0);

  RawUdp client("127.0.0.7");
  std::vector<uint16_t> upstream_ids;
  for (int round = 0; round < 2; ++round) {
    client.send_to("127.0.0.13", testing::make_query("www.example.net", rrtype::a));
    pollfd p{up.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    std::vector<uint8_t> q(512);
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    ssize_t n = ::recvfrom(up.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    ASSERT_GT(n, 12);
    q.resize(size_t(n));
    upstream_ids.push_back(uint16_t(q[0] << 8 | q[1]));
    auto reply = [&](std::vector<uint8_t> r, uint8_t last_octet) {
      r[2] |= 0x80;  // QR
      r[7] = 1;      // one answer: www.example.net A 203.0.113.<last_octet>
      std::vector<uint8_t> rr = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, last_octet};
      r.insert(r.end(), rr.begin(), rr.end());
      ::sendto(up.get(), r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
    };
    std::vector<uint8_t> wrong_id = q;
    wrong_id[1] ^= 0x01;
    reply(wrong_id, 66);
    std::vector<uint8_t> wrong_question = testing::make_query("www.example.org", rrtype::a);
    wrong_question[0] = q[0], wrong_question[1] = q[1];
    reply(wrong_question, 67);
    reply(q, 1);
    auto got = client.collect(300ms);
    ASSERT_EQ(got.size(), 1u);  // only the genuine answer reaches the guest
    auto m = parse_message(got[0]);
    ASSERT_TRUE(m.ok()) << m.error().describe();
    EXPECT_EQ(m->header.id, 0x4242);  // the client's own id, restored
    ASSERT_EQ(m->answers.size(), 1u);
    EXPECT_EQ(testing::rdata_ipv4(got[0], m->answers[0]), "203.0.113.1");
  }
  // The upstream never sees the client's id (both equal 0x4242 by chance: p = 2^-32).
  EXPECT_FALSE(upstream_ids[0] == 0x4242 && upstream_ids[1] == 0x4242);
}

// `from`: the client's source address (another host, as far as the server can tell).
UniqueFd tcp_connect(const char* server, const char* from = nullptr) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (from) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, from, &src.sin_addr);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src), 0) << std::strerror(errno);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  inet_pton(AF_INET, server, &a.sin_addr);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// True when the server closed the connection within `wait` (recv returns 0 or reset).
bool closed_by_peer(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, int(wait.count())) <= 0) return false;
  char b[64];
  return ::recv(fd, b, sizeof b, 0) <= 0;
}

TEST_F(DnsServerReal, BadTcpInputIsClosedCleanly) {
  auto zero = tcp_connect(pub);  // a zero length prefix is not a message
  ASSERT_EQ(::send(zero.get(), "\0\0", 2, MSG_NOSIGNAL), 2);
  EXPECT_TRUE(closed_by_peer(zero.get(), 1s));

  auto garbage = tcp_connect(pub);  // well-framed garbage gets FORMERR
  const uint8_t framed[] = {0, 14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  ASSERT_EQ(::send(garbage.get(), framed, sizeof framed, MSG_NOSIGNAL), ssize_t(sizeof framed));
  uint8_t reply[64];
  pollfd p{garbage.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 1000), 1);
  ASSERT_GE(::recv(garbage.get(), reply, sizeof reply, 0), 14);
  EXPECT_EQ(reply[2 + 3] & 0x0f, int(Rcode::formerr));

  auto slow = tcp_connect(pub);  // half a message, then silence: the idle timeout closes it
  ASSERT_EQ(::send(slow.get(), "\x01\x00\x12", 3, MSG_NOSIGNAL), 3);
  EXPECT_TRUE(closed_by_peer(slow.get(), 2s));
  EXPECT_EQ(short_answer(pub, {"+tcp", "web.team.seed.test", "A"}), "10.0.0.2\n");
}

TEST_F(DnsServerReal, TcpConnectionCapHolds) {
  std::vector<UniqueFd> conns;  // from two hosts, each within its own share
  for (int i = 0; i < 8; ++i) conns.push_back(tcp_connect(pub, i % 2 ? "127.0.0.1" : "127.0.0.3"));
  std::this_thread::sleep_for(100ms);
  auto extra = tcp_connect(pub, "127.0.0.4");
  EXPECT_TRUE(closed_by_peer(extra.get(), 1s));
  EXPECT_LE(server_->stats().tcp_open.load(), 8u);
  conns.clear();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(short_answer(pub, {"+tcp", "web.team.seed.test", "A"}), "10.0.0.2\n");
}

// Issue 13.4: one address held every slot. Now it gets its share (4 here) and another host is
// still answered over TCP while it holds them.
TEST_F(DnsServerReal, OneSourceCannotTakeEveryTcpSlot) {
  const uint64_t rejected_before = server_->stats().tcp_rejected.load();
  std::vector<UniqueFd> hog;
  for (int i = 0; i < 8; ++i) hog.push_back(tcp_connect(pub, "127.0.0.1"));
  std::this_thread::sleep_for(100ms);  // well within the idle timeout: all 8 are still held
  EXPECT_EQ(short_answer(pub, {"-b", "127.0.0.2", "+tcp", "web.team.seed.test", "A"}), "10.0.0.2\n");
  EXPECT_GE(server_->stats().tcp_rejected.load() - rejected_before, 4u);
}

// A byte at a time, each one sooner than the idle timeout: the message deadline (1 s here)
// closes the connection. Before, each byte restarted the idle timer and the slot was held forever.
TEST_F(DnsServerReal, SlowDripMessageHitsItsDeadline) {
  auto drip = tcp_connect(pub);
  ASSERT_EQ(::send(drip.get(), "\x01\x00", 2, MSG_NOSIGNAL), 2);  // a 256-byte message, never finished
  bool closed = false;
  for (int i = 0; i < 60 && !closed; ++i) {
    (void)::send(drip.get(), "x", 1, MSG_NOSIGNAL);
    closed = closed_by_peer(drip.get(), 150ms);
  }
  EXPECT_TRUE(closed) << "60 drips 150 ms apart (far past the 1 s message deadline) kept the connection";
}

// A busy connection (a query every 150 ms, each answered) still ends at its maximum life (3 s).
TEST_F(DnsServerReal, TcpConnectionLifeIsBounded) {
  auto busy = tcp_connect(pub);
  std::vector<uint8_t> q = testing::make_query("web.team.seed.test", rrtype::a);
  std::vector<uint8_t> framed = {uint8_t(q.size() >> 8), uint8_t(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  bool closed = false;
  int answered = 0;
  for (int i = 0; i < 100 && !closed; ++i) {
    if (::send(busy.get(), framed.data(), framed.size(), MSG_NOSIGNAL) != ssize_t(framed.size())) break;
    pollfd p{busy.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    uint8_t reply[512];
    ssize_t n = ::recv(busy.get(), reply, sizeof reply, 0);
    if (n <= 0) closed = true;
    if (n > 0) ++answered;
    std::this_thread::sleep_for(150ms);
  }
  EXPECT_TRUE(closed) << "100 queries 150 ms apart (far past the 3 s life) kept the connection";
  EXPECT_GT(answered, 0);
}

// A length shorter than a DNS header frames no message: the connection is closed, and what
// follows it (a good query here) is not answered. Before, the runt was skipped and the rest served.
TEST_F(DnsServerReal, LengthShorterThanAHeaderClosesTheConnection) {
  auto runt = tcp_connect(pub);
  std::vector<uint8_t> bytes = {0, 5, 1, 2, 3, 4, 5};
  std::vector<uint8_t> q = testing::make_query("web.team.seed.test", rrtype::a);
  bytes.push_back(uint8_t(q.size() >> 8));
  bytes.push_back(uint8_t(q.size()));
  bytes.insert(bytes.end(), q.begin(), q.end());
  ASSERT_EQ(::send(runt.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size()));
  EXPECT_TRUE(closed_by_peer(runt.get(), 1s));
}

TEST_F(DnsServerReal, ListenOnABusyAddressFailsClearly) {
  ServerConfig c;
  c.public_listen = {"127.0.0.1:53"};
  auto s = Server::start(c, *zone_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().describe(), HasSubstr("127.0.0.1:53"));
  EXPECT_THAT(s.error().describe(), HasSubstr("another DNS server"));
  EXPECT_THAT(s.error().describe(), HasSubstr("proto=udp"));  // UDP is bound first, and refused
  c.public_listen = {"not-an-address"};
  EXPECT_EQ(Server::start(c, *zone_).error().code, Errc::invalid_argument);
}

// Keep last: it stops the shared servers.
TEST_F(DnsServerReal, StopClosesEverySocketAndConnection) {
  auto idle = tcp_connect(pub);
  ASSERT_EQ(::send(idle.get(), "\x00", 1, MSG_NOSIGNAL), 1);  // a connection mid-message
  std::this_thread::sleep_for(50ms);
  delete server_;
  delete upstream_;
  server_ = upstream_ = nullptr;
  EXPECT_TRUE(closed_by_peer(idle.get(), 1s));
  EXPECT_EQ(open_fds(), fds_before_ + 1);  // only the test's own client socket is left
}

}  // namespace
}  // namespace seed::net::dns
