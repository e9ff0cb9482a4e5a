#include "net/ingress/sni_parser.hpp"

#include <optional>
#include <vector>

#include "net/ingress/routing_table.hpp"

namespace seed::net::ingress {

namespace {

constexpr uint8_t kHandshakeRecord = 22;
constexpr uint8_t kClientHello = 1;
constexpr uint16_t kServerNameExt = 0;
constexpr size_t kRecordHeader = 5;
constexpr size_t kMaxRecordPayload = 16384 + 2048;  // TLSPlaintext limit plus slack (RFC 8446)

// A bounds-checked reader: every read reports failure instead of running off the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  size_t left() const { return b_.size() - pos_; }
  bool u8(uint8_t& v) {
    if (left() < 1) return false;
    v = b_[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (left() < 2) return false;
    v = static_cast<uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u24(uint32_t& v) {
    if (left() < 3) return false;
    v = static_cast<uint32_t>(b_[pos_] << 16 | b_[pos_ + 1] << 8 | b_[pos_ + 2]);
    pos_ += 3;
    return true;
  }
  bool skip(size_t n) {
    if (left() < n) return false;
    pos_ += n;
    return true;
  }
  // A sub-reader over the next n bytes.
  std::optional<Reader> take(size_t n) {
    if (left() < n) return std::nullopt;
    Reader r(b_.subspan(pos_, n));
    pos_ += n;
    return r;
  }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

SniResult malformed(std::string reason) {
  return {SniStatus::malformed, {}, std::move(reason)};
}

// Skips a vector with a length prefix of `len_bytes` (1 or 2).
bool skip_vector(Reader& r, int len_bytes) {
  if (len_bytes == 1) {
    uint8_t n = 0;
    return r.u8(n) && r.skip(n);
  }
  uint16_t n = 0;
  return r.u16(n) && r.skip(n);
}

SniResult parse_server_name(Reader ext) {
  uint16_t list_len = 0;
  if (!ext.u16(list_len) || list_len != ext.left()) return malformed("server_name list length");
  while (ext.left() > 0) {
    uint8_t type = 0;
    uint16_t len = 0;
    if (!ext.u8(type) || !ext.u16(len)) return malformed("server_name entry");
    auto name = ext.take(len);
    if (!name) return malformed("server_name entry length");
    if (type != 0) continue;  // only host_name (0) is defined
    std::string host;
    host.reserve(len);
    uint8_t c = 0;
    while (name->u8(c)) host.push_back(static_cast<char>(c));
    host = normalize_host(host);
    if (!valid_hostname(host)) return malformed("server_name is not a valid hostname");
    return {SniStatus::found, std::move(host), {}};
  }
  return {SniStatus::no_sni, {}, {}};
}

SniResult parse_hello_body(Reader body) {
  // legacy_version, random, session_id, cipher_suites, compression_methods, extensions.
  if (!body.skip(2 + 32)) return malformed("ClientHello too short");
  if (!skip_vector(body, 1)) return malformed("session_id");
  uint16_t suites = 0;
  if (!body.u16(suites) || suites % 2 != 0 || !body.skip(suites)) return malformed("cipher_suites");
  if (!skip_vector(body, 1)) return malformed("compression_methods");
  if (body.left() == 0) return {SniStatus::no_sni, {}, {}};  // no extensions at all (old clients)
  uint16_t ext_len = 0;
  if (!body.u16(ext_len) || ext_len != body.left()) return malformed("extensions length");
  while (body.left() > 0) {
    uint16_t type = 0;
    uint16_t len = 0;
    if (!body.u16(type) || !body.u16(len)) return malformed("extension header");
    auto ext = body.take(len);
    if (!ext) return malformed("extension length");
    if (type == kServerNameExt) return parse_server_name(*ext);
  }
  return {SniStatus::no_sni, {}, {}};
}

}  // namespace

SniResult parse_client_hello(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return {};
  if (bytes[0] != kHandshakeRecord) return {SniStatus::not_tls, {}, "not a TLS handshake record"};
  // Reassemble the handshake layer from consecutive handshake records.
  std::vector<uint8_t> hs;
  size_t pos = 0;
  std::optional<size_t> want;  // total handshake bytes once the header is known
  while (true) {
    if (want && hs.size() >= *want) break;
    if (bytes.size() - pos < kRecordHeader) {
      return bytes.size() > kMaxClientHelloBytes ? SniResult{SniStatus::too_large, {}, {}}
                                                 : SniResult{};
    }
    if (bytes[pos] != kHandshakeRecord) return malformed("record is not a handshake record");
    if (bytes[pos + 1] != 3) return malformed("record version");
    const size_t len = static_cast<size_t>(bytes[pos + 3] << 8 | bytes[pos + 4]);
    if (len == 0 || len > kMaxRecordPayload) return malformed("record length");
    const size_t avail = std::min(len, bytes.size() - pos - kRecordHeader);
    hs.insert(hs.end(), bytes.begin() + static_cast<std::ptrdiff_t>(pos + kRecordHeader),
              bytes.begin() + static_cast<std::ptrdiff_t>(pos + kRecordHeader + avail));
    if (!want && hs.size() >= 4) {
      if (hs[0] != kClientHello) return malformed("first handshake message is not a ClientHello");
      want = 4 + (static_cast<size_t>(hs[1]) << 16 | static_cast<size_t>(hs[2]) << 8 | hs[3]);
      if (*want + kRecordHeader > kMaxClientHelloBytes) return {SniStatus::too_large, {}, {}};
    }
    if (avail < len) {  // this record is still arriving
      if (want && hs.size() >= *want) break;
      return {};
    }
    pos += kRecordHeader + len;
  }
  Reader r(std::span<const uint8_t>(hs).first(*want));
  r.skip(4);
  return parse_hello_body(r);
}

std::string tls_alert(uint8_t description) {
  // Record type 21 (alert), version TLS 1.2 (what a server writes before negotiation),
  // length 2, level fatal (2), then the description.
  return std::string{'\x15', '\x03', '\x03', '\x00', '\x02', '\x02', static_cast<char>(description)};
}

}  // namespace seed::net::ingress
