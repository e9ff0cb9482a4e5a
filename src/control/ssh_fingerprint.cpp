#include "control/ssh_fingerprint.hpp"

#include <openssl/evp.h>

#include <cstdint>
#include <vector>

#include "common/digest.hpp"
#include "common/fd.hpp"

namespace seed::control {
namespace {

Error key_error(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message)).with("stage", "ssh-host-key");
}

// OpenSSL's block decoder accepts exactly padded base64 and reports the padding as zero bytes
// at the end, which we strip using the '=' count.
Result<std::vector<uint8_t>> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return key_error("the key blob is not base64");
  std::vector<uint8_t> out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return key_error("the key blob is not base64");
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string base64_unpadded(const Sha256& digest) {
  std::string out(4 * ((digest.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest.data(),
                          static_cast<int>(digest.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

// The blob starts with its own key type as an SSH string (uint32 length + bytes); checking it
// catches a .pub file whose text type and blob disagree (a truncated or edited file).
bool blob_type_matches(const std::vector<uint8_t>& blob, std::string_view type) {
  if (blob.size() < 4) return false;
  uint32_t len = (uint32_t{blob[0]} << 24) | (uint32_t{blob[1]} << 16) | (uint32_t{blob[2]} << 8) | blob[3];
  if (len != type.size() || blob.size() < 4 + len) return false;
  return std::string_view(reinterpret_cast<const char*>(blob.data()) + 4, len) == type;
}

}  // namespace

Result<SshKeyFingerprint> ssh_fingerprint(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  auto type_end = line.find(' ');
  if (type_end == std::string_view::npos || type_end == 0) {
    return key_error("not an OpenSSH public key line (\"<type> <base64> [comment]\")");
  }
  SshKeyFingerprint fp;
  fp.type = std::string(line.substr(0, type_end));
  std::string_view rest = line.substr(type_end + 1);
  auto blob_end = rest.find(' ');
  std::string_view b64 = rest.substr(0, blob_end);
  if (blob_end != std::string_view::npos) fp.comment = std::string(rest.substr(blob_end + 1));
  auto blob = SEED_TRY(base64_decode(b64));
  if (!blob_type_matches(blob, fp.type)) {
    return key_error("the key blob does not hold a " + fp.type + " key");
  }
  auto digest = sha256(std::string_view(reinterpret_cast<const char*>(blob.data()), blob.size()));
  fp.fingerprint = "SHA256:" + base64_unpadded(digest);
  return fp;
}

Result<SshKeyFingerprint> ssh_fingerprint_of_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) {
    return std::move(text).error()
        .with("stage", "ssh-host-key")
        .with("path", path)
        .with("hint", "the SSH front end writes this key when it first starts; is it enabled?");
  }
  std::string_view all = *text;
  auto fp = ssh_fingerprint(all.substr(0, all.find('\n')));
  if (!fp) return std::move(fp).error().with("path", path);
  return fp;
}

}  // namespace seed::control
