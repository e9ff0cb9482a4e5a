// The DNS wire format's building blocks: codes, the 12-byte header, a bounds-checked reader
// with strict name decompression, and a writer that compresses names and refuses to grow past
// a size limit (so truncation is a decision, never an overflow).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/error.hpp"
#include "net/dns/name.hpp"

namespace seed::net::dns {

namespace rrtype {
inline constexpr uint16_t a = 1, ns = 2, cname = 5, soa = 6, ptr = 12, hinfo = 13, mx = 15,
                          txt = 16, aaaa = 28, opt = 41, ixfr = 251, axfr = 252, any = 255,
                          caa = 257;
}
inline constexpr uint16_t class_in = 1;
inline constexpr uint16_t class_any = 255;

enum class Rcode : uint16_t {  // 12-bit with EDNS: the top 8 bits travel in the OPT TTL
  noerror = 0,
  formerr = 1,
  servfail = 2,
  nxdomain = 3,
  notimp = 4,
  refused = 5,
  badvers = 16,
};

inline constexpr size_t header_size = 12;
inline constexpr size_t classic_udp_limit = 512;  // RFC 1035 without EDNS
inline constexpr size_t max_message = 65535;      // TCP length prefix

struct Header {
  uint16_t id = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  uint8_t opcode = 0;
  uint8_t rcode = 0;  // low 4 bits only
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;

  static Header decode(const uint8_t* p);  // needs header_size bytes
  void encode(uint8_t* p) const;
};

// Why a packet was rejected; tests check the exact reason, the server answers FORMERR.
enum class WireFault {
  truncated,
  label_too_long,    // a length byte with the top bits 01 or 10 (> 63, reserved types)
  name_too_long,     // more than 255 bytes once decompressed
  forward_pointer,   // a compression pointer to itself or further ahead: loops start this way
  too_many_pointers,
  bad_count,         // section counts that cannot match the packet
  bad_opt,           // OPT not at the root, twice, or outside the additional section
  trailing_bytes,
};
std::string_view to_string(WireFault fault);

class WireReader {
 public:
  explicit WireReader(std::span<const uint8_t> packet, size_t pos = 0) : p_(packet), pos_(pos) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return p_.size() - pos_; }
  bool u8(uint8_t& v);
  bool u16(uint16_t& v);
  bool u32(uint32_t& v);
  bool skip(size_t n);
  // Reads a possibly compressed name. Pointers must point strictly backwards (which also makes
  // loops impossible), at most 127 of them per name, labels <= 63, total <= 255 bytes.
  bool name(Name& out, WireFault& fault);

 private:
  std::span<const uint8_t> p_;
  size_t pos_;
};

// Writes into a caller-owned buffer up to `limit` bytes. Every write reports whether it fit;
// callers mark() before a record and rewind() to it when the record did not fit whole.
class WireWriter {
 public:
  WireWriter(uint8_t* buf, size_t limit) : buf_(buf), limit_(limit) {}

  size_t size() const { return pos_; }
  uint8_t* data() { return buf_; }
  void set_limit(size_t limit) { limit_ = limit; }
  size_t limit() const { return limit_; }

  bool u8(uint8_t v);
  bool u16(uint16_t v);
  bool u32(uint32_t v);
  bool bytes(std::span<const uint8_t> b);
  bool bytes(std::string_view b) { return bytes({reinterpret_cast<const uint8_t*>(b.data()), b.size()}); }
  // A name, compressed against names already written (case-insensitively).
  bool name(const Name& n);
  // A name written in full (the question: it must echo the asker's case and be the first).
  bool name_uncompressed(const Name& n);
  void put_u16_at(size_t offset, uint16_t v);

  struct Mark {
    size_t pos;
    size_t suffixes;
  };
  Mark mark() const { return {pos_, n_suffixes_}; }
  void rewind(Mark m) {
    pos_ = m.pos;
    n_suffixes_ = m.suffixes;
  }

 private:
  bool suffix_matches(size_t offset, const uint8_t* label) const;
  void remember(size_t offset);

  uint8_t* buf_;
  size_t limit_;
  size_t pos_ = 0;
  // Offsets of names (and their suffixes) already in the packet that a pointer may target.
  static constexpr size_t max_suffixes = 64;
  std::array<uint16_t, max_suffixes> suffixes_{};
  size_t n_suffixes_ = 0;
};

}  // namespace seed::net::dns
