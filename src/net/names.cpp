#include "net/names.hpp"

#include <cstdio>

#include "common/digest.hpp"

namespace seed::net {
namespace {

bool is_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

Status validate_instance_id(const InstanceId& id) {
  for (auto [part, value] : {std::pair{"namespace", &id.ns}, std::pair{"instance", &id.name}}) {
    if (!is_label(*value)) {
      return make_error(Errc::invalid_argument,
                        std::string(part) + " name \"" + *value +
                            "\" cannot name a network device: use 1-63 lowercase letters, "
                            "digits and '-', not starting or ending with '-'")
          .with("instance", id.str())
          .with("stage", "network");
    }
  }
  return ok();
}

Result<std::string> tap_name(const InstanceId& id) {
  SEED_TRY(validate_instance_id(id));
  // '/' cannot appear in a label, so "ns/name" is an unambiguous encoding of the pair.
  auto digest = sha256("seed-tap:" + id.str());
  std::string name(tap_prefix);
  name += base32_lower(digest.data(), digest.size()).substr(0, 15 - name.size());
  return name;
}

std::string Mac::str() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return buf;
}

Result<Mac> parse_mac(std::string_view text, std::string_view what) {
  Mac m;
  auto bad = [&] {
    return make_error(Errc::invalid_argument, std::string(what) + ": \"" + std::string(text) +
                                                  "\" is not a MAC address (like 02:00:00:00:00:01)")
        .with("setting", std::string(what));
  };
  if (text.size() != 17) return bad();
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return bad();
    unsigned v = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = text[i * 3 + j];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
      else return bad();
    }
    m.bytes[i] = uint8_t(v);
  }
  return m;
}

Result<Mac> instance_mac(const InstanceId& id) {
  SEED_TRY(validate_instance_id(id));
  auto digest = sha256("seed-mac:" + id.str());
  Mac m;
  for (size_t i = 0; i < 6; ++i) m.bytes[i] = digest[i];
  m.bytes[0] = uint8_t((m.bytes[0] & 0xfc) | 0x02);
  // The two host-side addresses are reserved; a hash landing on one (odds 2^-46) moves off it.
  if (m == tap_mac() || m == bridge_mac()) m.bytes[5] ^= 1;
  return m;
}

Mac tap_mac() { return Mac{{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}}; }

Mac bridge_mac() { return Mac{{0x02, 0x5e, 0xed, 0x00, 0x00, 0x01}}; }

Status validate_ifname(std::string_view name, std::string_view what) {
  bool good = !name.empty() && name.size() <= 15 && name != "." && name != "..";
  for (char c : name) {
    good = good && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-');
  }
  if (!good) {
    return make_error(Errc::invalid_argument,
                      std::string(what) + ": \"" + std::string(name) +
                          "\" is not a usable interface name: use 1-15 of A-Z a-z 0-9 _ . -")
        .with("setting", std::string(what));
  }
  return ok();
}

}  // namespace seed::net
