#include "sshcli/identity.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "common/digest.hpp"

namespace seed::sshcli {
namespace {

// Splits an authorized_keys line into words; a double-quoted option value ("a b") is one word.
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    bool quoted = false;
    while (i < line.size() && (quoted || !std::isspace(static_cast<unsigned char>(line[i])))) {
      if (line[i] == '\\' && quoted && i + 1 < line.size()) {
        ++i;
      } else if (line[i] == '"') {
        quoted = !quoted;
      }
      ++i;
    }
    out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool is_key_type(std::string_view w) {
  return w.starts_with("ssh-") || w.starts_with("ecdsa-sha2-") || w.starts_with("sk-ssh-") ||
         w.starts_with("sk-ecdsa-sha2-");
}

bool is_base64(std::string_view w) {
  if (w.empty()) return false;
  for (char c : w) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') return false;
  }
  return true;
}

}  // namespace

std::vector<AuthorizedKey> parse_authorized_keys(std::string_view text) {
  std::vector<AuthorizedKey> keys;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    auto w = words(line);
    if (w.empty() || w.front().starts_with("#")) continue;
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      if (!is_key_type(w[i]) || !is_base64(w[i + 1])) continue;
      AuthorizedKey key{std::string(w[i]), std::string(w[i + 1]), {}};
      for (size_t j = i + 2; j < w.size(); ++j) {
        key.comment += (key.comment.empty() ? "" : " ") + std::string(w[j]);
      }
      keys.push_back(std::move(key));
      break;
    }
  }
  return keys;
}

bool authorized_keys_list(std::string_view text, const KeyIdentity& key) {
  if (key.type.empty() || key.blob.empty()) return false;
  for (const auto& k : parse_authorized_keys(text)) {
    if (k.type == key.type && k.blob == key.blob) return true;
  }
  return false;
}

namespace {

std::string decode_base64(const std::string& b64) {
  std::string raw(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) return {};
  size_t pad = 0;
  for (auto it = b64.rbegin(); it != b64.rend() && *it == '='; ++it) ++pad;
  raw.resize(static_cast<size_t>(n) - std::min(pad, static_cast<size_t>(n)));
  return raw;
}

}  // namespace

unsigned rsa_modulus_bits(const KeyIdentity& key) {
  if (key.type != "ssh-rsa") return 0;
  std::string raw = decode_base64(key.blob);
  size_t pos = 0;
  auto next = [&](std::string_view& field) {
    if (raw.size() - pos < 4) return false;
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len = (len << 8) | static_cast<unsigned char>(raw[pos + static_cast<size_t>(i)]);
    pos += 4;
    if (raw.size() - pos < len) return false;
    field = std::string_view(raw).substr(pos, len);
    pos += len;
    return true;
  };
  std::string_view type, e, n;
  if (!next(type) || !next(e) || !next(n)) return 0;
  while (!n.empty() && n.front() == '\0') n.remove_prefix(1);  // mpint sign byte
  if (n.empty()) return 0;
  unsigned bits = static_cast<unsigned>(n.size()) * 8;
  for (auto top = static_cast<unsigned char>(n.front()); (top & 0x80) == 0; top = static_cast<unsigned char>(top << 1)) --bits;
  return bits;
}

KeyIdentity identity_from_openssh(std::string_view line) {
  auto keys = parse_authorized_keys(line);
  if (keys.empty()) return {};
  KeyIdentity id{keys[0].type, keys[0].blob, {}};
  // The fingerprint is SHA-256 over the decoded key blob, unpadded base64 (OpenSSH's form).
  std::string raw = decode_base64(id.blob);
  if (raw.empty()) return {};
  Sha256 digest = sha256(raw);
  std::string b64(48, '\0');
  int m = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), digest.data(), static_cast<int>(digest.size()));
  b64.resize(static_cast<size_t>(m));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  id.fingerprint = "SHA256:" + b64;
  return id;
}

}  // namespace seed::sshcli
