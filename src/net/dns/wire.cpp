#include "net/dns/wire.hpp"

#include <cstring>

namespace seed::net::dns {

Header Header::decode(const uint8_t* p) {
  Header h;
  h.id = uint16_t(p[0] << 8 | p[1]);
  h.qr = p[2] & 0x80;
  h.opcode = (p[2] >> 3) & 0x0f;
  h.aa = p[2] & 0x04;
  h.tc = p[2] & 0x02;
  h.rd = p[2] & 0x01;
  h.ra = p[3] & 0x80;
  h.ad = p[3] & 0x20;
  h.cd = p[3] & 0x10;
  h.rcode = p[3] & 0x0f;
  h.qdcount = uint16_t(p[4] << 8 | p[5]);
  h.ancount = uint16_t(p[6] << 8 | p[7]);
  h.nscount = uint16_t(p[8] << 8 | p[9]);
  h.arcount = uint16_t(p[10] << 8 | p[11]);
  return h;
}

void Header::encode(uint8_t* p) const {
  p[0] = uint8_t(id >> 8);
  p[1] = uint8_t(id);
  p[2] = uint8_t((qr ? 0x80 : 0) | ((opcode & 0x0f) << 3) | (aa ? 0x04 : 0) | (tc ? 0x02 : 0) |
                 (rd ? 0x01 : 0));
  p[3] = uint8_t((ra ? 0x80 : 0) | (ad ? 0x20 : 0) | (cd ? 0x10 : 0) | (rcode & 0x0f));
  const uint16_t counts[4] = {qdcount, ancount, nscount, arcount};
  for (int i = 0; i < 4; ++i) {
    p[4 + 2 * i] = uint8_t(counts[i] >> 8);
    p[5 + 2 * i] = uint8_t(counts[i]);
  }
}

std::string_view to_string(WireFault fault) {
  switch (fault) {
    case WireFault::truncated: return "truncated packet";
    case WireFault::label_too_long: return "label longer than 63 bytes or reserved label type";
    case WireFault::name_too_long: return "name longer than 255 bytes";
    case WireFault::forward_pointer: return "compression pointer that does not point backwards";
    case WireFault::too_many_pointers: return "too many compression pointers in one name";
    case WireFault::bad_count: return "section counts do not match the packet";
    case WireFault::bad_opt: return "malformed or misplaced EDNS OPT record";
    case WireFault::trailing_bytes: return "bytes after the last record";
  }
  return "malformed packet";
}

bool WireReader::u8(uint8_t& v) {
  if (remaining() < 1) return false;
  v = p_[pos_++];
  return true;
}

bool WireReader::u16(uint16_t& v) {
  if (remaining() < 2) return false;
  v = uint16_t(p_[pos_] << 8 | p_[pos_ + 1]);
  pos_ += 2;
  return true;
}

bool WireReader::u32(uint32_t& v) {
  if (remaining() < 4) return false;
  v = uint32_t(p_[pos_]) << 24 | uint32_t(p_[pos_ + 1]) << 16 | uint32_t(p_[pos_ + 2]) << 8 |
      uint32_t(p_[pos_ + 3]);
  pos_ += 4;
  return true;
}

bool WireReader::skip(size_t n) {
  if (remaining() < n) return false;
  pos_ += n;
  return true;
}

bool WireReader::name(Name& out, WireFault& fault) {
  uint8_t buf[max_name_wire];
  size_t len = 0;
  size_t at = pos_;        // where the next label byte is read
  size_t resume = 0;       // where the reader continues after the first pointer
  bool jumped = false;
  int pointers = 0;
  while (true) {
    if (at >= p_.size()) {
      fault = WireFault::truncated;
      return false;
    }
    uint8_t b = p_[at];
    if ((b & 0xc0) == 0xc0) {
      if (at + 1 >= p_.size()) {
        fault = WireFault::truncated;
        return false;
      }
      size_t target = size_t(b & 0x3f) << 8 | p_[at + 1];
      // Strictly backwards from this pointer: every jump lands earlier, so the walk ends.
      if (target >= at) {
        fault = WireFault::forward_pointer;
        return false;
      }
      if (++pointers > 127) {
        fault = WireFault::too_many_pointers;
        return false;
      }
      if (!jumped) resume = at + 2;
      jumped = true;
      at = target;
      continue;
    }
    if (b & 0xc0) {
      fault = WireFault::label_too_long;
      return false;
    }
    if (len + 1 + b > max_name_wire) {
      fault = WireFault::name_too_long;
      return false;
    }
    if (at + 1 + b > p_.size()) {
      fault = WireFault::truncated;
      return false;
    }
    std::memcpy(&buf[len], &p_[at], 1 + size_t(b));
    len += 1 + size_t(b);
    at += 1 + size_t(b);
    if (b == 0) break;
  }
  pos_ = jumped ? resume : at;
  out = Name::from_wire_unchecked({buf, len});
  return true;
}

bool WireWriter::u8(uint8_t v) {
  if (pos_ + 1 > limit_) return false;
  buf_[pos_++] = v;
  return true;
}

bool WireWriter::u16(uint16_t v) {
  if (pos_ + 2 > limit_) return false;
  buf_[pos_++] = uint8_t(v >> 8);
  buf_[pos_++] = uint8_t(v);
  return true;
}

bool WireWriter::u32(uint32_t v) {
  if (pos_ + 4 > limit_) return false;
  for (int shift = 24; shift >= 0; shift -= 8) buf_[pos_++] = uint8_t(v >> shift);
  return true;
}

bool WireWriter::bytes(std::span<const uint8_t> b) {
  if (pos_ + b.size() > limit_) return false;
  if (!b.empty()) std::memcpy(buf_ + pos_, b.data(), b.size());
  pos_ += b.size();
  return true;
}

void WireWriter::put_u16_at(size_t offset, uint16_t v) {
  buf_[offset] = uint8_t(v >> 8);
  buf_[offset + 1] = uint8_t(v);
}

// Does the (possibly compressed) name at `offset` in our own output equal the uncompressed
// label sequence starting at `label`? Our output only holds pointers we wrote, all backwards.
bool WireWriter::suffix_matches(size_t offset, const uint8_t* label) const {
  while (true) {
    uint8_t b = buf_[offset];
    if ((b & 0xc0) == 0xc0) {
      offset = size_t(b & 0x3f) << 8 | buf_[offset + 1];
      continue;
    }
    if (b != *label) return false;
    if (b == 0) return true;
    for (size_t i = 1; i <= b; ++i) {
      if (ascii_lower(buf_[offset + i]) != ascii_lower(label[i])) return false;
    }
    offset += 1 + size_t(b);
    label += 1 + size_t(b);
  }
}

void WireWriter::remember(size_t offset) {
  if (offset < 0x3fff && n_suffixes_ < max_suffixes) suffixes_[n_suffixes_++] = uint16_t(offset);
}

bool WireWriter::name(const Name& n) {
  auto w = n.wire();
  Mark start = mark();
  size_t i = 0;
  while (w[i] != 0) {
    for (size_t s = 0; s < n_suffixes_; ++s) {
      if (suffix_matches(suffixes_[s], &w[i])) {
        if (!u16(uint16_t(0xc000 | suffixes_[s]))) {
          rewind(start);
          return false;
        }
        return true;
      }
    }
    size_t at = pos_;
    if (!bytes(w.subspan(i, 1 + size_t(w[i])))) {
      rewind(start);
      return false;
    }
    remember(at);
    i += 1 + size_t(w[i]);
  }
  if (!u8(0)) {
    rewind(start);
    return false;
  }
  return true;
}

bool WireWriter::name_uncompressed(const Name& n) {
  auto w = n.wire();
  size_t at = pos_;
  if (!bytes(w)) return false;
  for (size_t i = 0; w[i] != 0; i += 1 + size_t(w[i])) remember(at + i);
  return true;
}

}  // namespace seed::net::dns
