#include "net/dns/name.hpp"

#include <algorithm>
#include <cstring>

namespace seed::net::dns {

namespace {

bool valid_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

Error bad_name(std::string_view text, std::string why) {
  return make_error(Errc::invalid_argument, "invalid DNS name: " + why)
      .with("name", std::string(text))
      .with("hint", "use labels of 1-63 letters, digits or '-', at most 253 characters in all");
}

}  // namespace

Result<Name> Name::from_text(std::string_view text) {
  Name n;
  if (text == "." ) return n;
  std::string_view rest = text;
  if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
  if (rest.empty()) return bad_name(text, "empty name");
  size_t len = 0;
  while (true) {
    size_t dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    if (label.empty()) return bad_name(text, "empty label");
    if (label.size() > max_label) return bad_name(text, "label longer than 63 bytes");
    if (!std::all_of(label.begin(), label.end(), valid_label_char)) {
      return bad_name(text, "label has a character other than letters, digits, '-' or '_'");
    }
    if (len + 1 + label.size() + 1 > max_name_wire) return bad_name(text, "longer than 255 bytes");
    n.wire_[len++] = uint8_t(label.size());
    std::memcpy(&n.wire_[len], label.data(), label.size());
    len += label.size();
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  n.wire_[len++] = 0;
  n.len_ = uint8_t(len);
  return n;
}

Name Name::from_wire_unchecked(std::span<const uint8_t> wire) {
  Name n;
  std::memcpy(n.wire_.data(), wire.data(), wire.size());
  n.len_ = uint8_t(wire.size());
  return n;
}

std::string Name::key() const {
  std::string k(len_, '\0');
  key_into(reinterpret_cast<uint8_t*>(k.data()));
  return k;
}

void Name::key_into(uint8_t* out) const {
  for (size_t i = 0; i < len_; ++i) out[i] = ascii_lower(wire_[i]);
}

std::string Name::to_text() const {
  if (is_root()) return ".";
  std::string out;
  for (size_t i = 0; wire_[i] != 0; i += wire_[i] + 1) {
    for (size_t j = 1; j <= wire_[i]; ++j) {
      char c = char(wire_[i + j]);
      // Bytes that are not plain letters/digits/-/_ (possible in names from the wire) are
      // escaped the way dig shows them, so logs stay one readable line.
      if (valid_label_char(c)) {
        out += c;
      } else if (c == '.' || c == '\\') {
        out += '\\';
        out += c;
      } else {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", unsigned(uint8_t(c)));
        out += buf;
      }
    }
    out += '.';
  }
  return out;
}

size_t Name::label_count() const {
  size_t n = 0;
  for (size_t i = 0; wire_[i] != 0; i += wire_[i] + 1) ++n;
  return n;
}

std::string_view Name::first_label() const {
  return {reinterpret_cast<const char*>(&wire_[1]), wire_[0]};
}

Name Name::parent() const {
  if (is_root()) return *this;
  size_t skip = wire_[0] + 1u;
  return from_wire_unchecked({&wire_[skip], len_ - skip});
}

Result<Name> Name::prepend(std::string_view label) const {
  if (label.empty() || label.size() > max_label || len_ + 1 + label.size() > max_name_wire) {
    return bad_name(label, "label does not fit in front of " + to_text());
  }
  Name n;
  n.wire_[0] = uint8_t(label.size());
  std::memcpy(&n.wire_[1], label.data(), label.size());
  std::memcpy(&n.wire_[1 + label.size()], wire_.data(), len_);
  n.len_ = uint8_t(len_ + 1 + label.size());
  return n;
}

bool Name::is_at_or_below(const Name& zone) const {
  if (zone.len_ > len_) return false;
  // Walk label boundaries: the zone must match a whole-label suffix, not a byte suffix.
  size_t offset = len_ - zone.len_;
  size_t i = 0;
  while (i < offset) i += wire_[i] + 1u;
  if (i != offset) return false;
  for (size_t j = 0; j < zone.len_; ++j) {
    if (ascii_lower(wire_[offset + j]) != ascii_lower(zone.wire_[j])) return false;
  }
  return true;
}

bool operator==(const Name& a, const Name& b) {
  if (a.len_ != b.len_) return false;
  for (size_t i = 0; i < a.len_; ++i) {
    if (ascii_lower(a.wire_[i]) != ascii_lower(b.wire_[i])) return false;
  }
  return true;
}

}  // namespace seed::net::dns
