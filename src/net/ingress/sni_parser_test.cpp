#include "net/ingress/sni_parser.hpp"

#include "net/ingress/routing_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace seed::net::ingress {
namespace {

std::vector<uint8_t> golden(const std::string& name) {
  const char* src = std::getenv("SEED_SOURCE_DIR");
  const std::string path = std::string(src ? src : ".") + "/src/net/ingress/testdata/" + name;
  std::ifstream in(path);
  std::string hex;
  in >> hex;
  EXPECT_FALSE(hex.empty()) << "missing golden file " << path;
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

SniResult parse(const std::vector<uint8_t>& b) { return parse_client_hello(b); }

// Re-frames one ClientHello record's handshake bytes into records of at most `chunk` bytes,
// as a client with a small record size (or a middlebox) may send it.
std::vector<uint8_t> split_records(const std::vector<uint8_t>& rec, size_t chunk) {
  const size_t len = static_cast<size_t>(rec[3] << 8 | rec[4]);
  std::vector<uint8_t> hs(rec.begin() + 5, rec.begin() + 5 + static_cast<std::ptrdiff_t>(len));
  std::vector<uint8_t> out;
  for (size_t off = 0; off < hs.size(); off += chunk) {
    const size_t n = std::min(chunk, hs.size() - off);
    out.insert(out.end(), {22, rec[1], rec[2], static_cast<uint8_t>(n >> 8),
                           static_cast<uint8_t>(n & 0xff)});
    out.insert(out.end(), hs.begin() + static_cast<std::ptrdiff_t>(off),
               hs.begin() + static_cast<std::ptrdiff_t>(off + n));
  }
  return out;
}

TEST(SniParser, GoldenOpensslClientHellos) {
  auto a = parse(golden("tls13_a_example.hex"));
  EXPECT_EQ(a.status, SniStatus::found);
  EXPECT_EQ(a.name, "a.example");
  auto b = parse(golden("tls12_b_example.hex"));
  EXPECT_EQ(b.status, SniStatus::found);
  EXPECT_EQ(b.name, "b.example") << "SNI must be matched case-insensitively";
  auto g = parse(golden("alpn_h2_grpc.hex"));
  EXPECT_EQ(g.status, SniStatus::found);
  EXPECT_EQ(g.name, "grpc.ns.seed.example.org");
  EXPECT_EQ(parse(golden("no_sni.hex")).status, SniStatus::no_sni);
}

TEST(SniParser, EveryPrefixNeedsMoreThenTheWholeIsFound) {
  // A ClientHello split across TCP segments at every possible point.
  const auto full = golden("tls13_a_example.hex");
  for (size_t cut = 1; cut < full.size(); ++cut) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    ASSERT_EQ(parse(prefix).status, SniStatus::need_more) << "cut at " << cut;
  }
  EXPECT_EQ(parse(full).name, "a.example");
}

TEST(SniParser, HandshakeSplitAcrossRecords) {
  const auto full = golden("alpn_h2_grpc.hex");
  for (size_t chunk : {1u, 3u, 40u, 100u}) {
    const auto split = split_records(full, chunk);
    auto r = parse(split);
    EXPECT_EQ(r.status, SniStatus::found) << "records of " << chunk << " bytes";
    EXPECT_EQ(r.name, "grpc.ns.seed.example.org");
    // And arriving in pieces: still waiting until the last record is complete.
    std::vector<uint8_t> most(split.begin(), split.end() - 1);
    EXPECT_EQ(parse(most).status, SniStatus::need_more);
  }
}

TEST(SniParser, NotTls) {
  std::string http = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(parse(std::vector<uint8_t>(http.begin(), http.end())).status, SniStatus::not_tls);
}

TEST(SniParser, MalformedLengthsAreRejectedNotOverread) {
  const auto full = golden("tls13_a_example.hex");
  // Corrupt each byte in turn (under ASan this also proves no over-read): a name that is
  // still reported must be a valid hostname, never bytes from elsewhere in the message.
  for (size_t i = 0; i < full.size(); ++i) {
    auto bad = full;
    bad[i] ^= 0xff;
    auto r = parse(bad);
    if (r.status == SniStatus::found) {
      EXPECT_TRUE(valid_hostname(r.name)) << "byte " << i;
    }
  }
  auto bad = full;
  bad[5] = 2;  // a ServerHello, not a ClientHello
  EXPECT_EQ(parse(bad).status, SniStatus::malformed);
  bad = full;
  bad[3] = 0;
  bad[4] = 0;  // zero-length record
  EXPECT_EQ(parse(bad).status, SniStatus::malformed);
}

TEST(SniParser, BadServerNameIsMalformed) {
  auto full = golden("tls13_a_example.hex");
  // Replace the name's first byte with a character no hostname contains.
  const std::string name = "a.example";
  auto it = std::search(full.begin(), full.end(), name.begin(), name.end());
  ASSERT_NE(it, full.end());
  *it = '/';
  EXPECT_EQ(parse(full).status, SniStatus::malformed);
}

TEST(SniParser, OversizedHelloIsBounded) {
  // Claims a 60 KiB handshake message: refused before buffering it.
  std::vector<uint8_t> big = {22, 3, 1, 0x40, 0x00, 1, 0x00, 0xf0, 0x00};
  EXPECT_EQ(parse(big).status, SniStatus::too_large);
}

TEST(SniParser, Alert) {
  EXPECT_EQ(tls_alert(112), std::string("\x15\x03\x03\x00\x02\x02\x70", 7));
}

}  // namespace
}  // namespace seed::net::ingress
