// Reads the server name (SNI) out of a TLS ClientHello without terminating TLS, the way
// nginx's ssl_preread and HAProxy's req.ssl_sni do.
//
// The parser is a pure function over every byte received so far: call it again after each
// read. That handles a ClientHello split across TCP segments, and across TLS records (the
// handshake message is reassembled from consecutive handshake records). Everything is bounds
// checked; the total is capped so a peer cannot make us buffer without end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace seed::net::ingress {

// Largest ClientHello (all records, headers included) we wait for. Real ones are 0.2–2 KiB,
// post-quantum key shares included; 16 KiB leaves room for many extensions.
inline constexpr size_t kMaxClientHelloBytes = 16 * 1024;

enum class SniStatus {
  need_more,  // a valid prefix: read more bytes
  found,      // `name` holds the normalized host name
  no_sni,     // a complete, valid ClientHello without a server_name extension
  not_tls,    // the first byte is not a TLS handshake record (e.g. plain HTTP on 443)
  malformed,  // lengths or fields are inconsistent
  too_large,  // the ClientHello exceeds kMaxClientHelloBytes
};

struct SniResult {
  SniStatus status = SniStatus::need_more;
  std::string name;
  std::string reason;  // for malformed: which field was wrong
};

SniResult parse_client_hello(std::span<const uint8_t> bytes);

// The 7-byte fatal TLS alert record sent before closing (unrecognized_name = 112,
// decode_error = 50, handshake_failure = 40).
std::string tls_alert(uint8_t description);

}  // namespace seed::net::ingress
