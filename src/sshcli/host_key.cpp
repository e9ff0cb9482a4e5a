#include "sshcli/host_key.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <memory>

#include <libssh/libssh.h>

#include "common/fd.hpp"
#include "sshcli/identity.hpp"

namespace seed::sshcli {
namespace {

constexpr const char* kName = "ssh_host_ed25519_key";

struct KeyFree {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
using KeyPtr = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyFree>;

Error key_error(std::string what, const std::string& path) {
  return make_error(Errc::io, std::move(what))
      .with("path", path)
      .with("stage", "ssh")
      .with("hint", "check the file, or move it away to have seedd generate a new host key "
                    "(clients will then see a changed host key)");
}

Result<std::string> public_line(ssh_key key, const std::string& path) {
  char* b64 = nullptr;
  if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) return key_error("cannot export the host public key", path);
  std::string line = std::string(ssh_key_type_to_char(ssh_key_type(key))) + " " + b64;
  ssh_string_free_char(b64);
  return line;
}

}  // namespace

Result<HostKey> ensure_host_key(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return errno_error("create host key directory " + dir, ec.value());
  ::chmod(dir.c_str(), 0700);

  HostKey hk;
  hk.private_path = dir + "/" + kName;
  hk.public_path = hk.private_path + ".pub";
  ssh_key raw = nullptr;
  if (std::filesystem::exists(hk.private_path, ec)) {
    if (ssh_pki_import_privkey_file(hk.private_path.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK) {
      return key_error("cannot read the SSH host key", hk.private_path);
    }
  } else {
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &raw) != SSH_OK) {
      return key_error("cannot generate an Ed25519 host key", hk.private_path);
    }
  }
  KeyPtr key(raw);
  if (ssh_key_type(key.get()) != SSH_KEYTYPE_ED25519) {
    return key_error("the SSH host key is not an Ed25519 key", hk.private_path);
  }
  hk.public_line = SEED_TRY(public_line(key.get(), hk.private_path));
  hk.fingerprint = identity_from_openssh(hk.public_line).fingerprint;

  if (!std::filesystem::exists(hk.private_path, ec)) {
    char* pem = nullptr;
    if (ssh_pki_export_privkey_base64(key.get(), nullptr, nullptr, nullptr, &pem) != SSH_OK) {
      return key_error("cannot encode the new host key", hk.private_path);
    }
    std::string text(pem);
    ssh_string_free_char(pem);
    SEED_TRY(write_file_atomic(hk.private_path, text, 0600));
  }
  // The .pub is derived: rewritten when missing or stale, so it always matches the key.
  auto existing = read_file(hk.public_path);
  if (!existing || existing->substr(0, hk.public_line.size()) != hk.public_line) {
    SEED_TRY(write_file_atomic(hk.public_path, hk.public_line + " seed\n", 0644));
  }
  return hk;
}

Result<std::string> host_key_fingerprint(const std::string& dir) {
  std::string path = dir + "/" + kName + ".pub";
  auto text = read_file(path);
  if (!text) {
    return make_error(Errc::not_found, "no SSH host key yet")
        .with("path", path)
        .with("hint", "seedd generates it when its SSH server first starts");
  }
  auto id = identity_from_openssh(*text);
  if (id.fingerprint.empty()) return key_error("the host public key file holds no key", path);
  return id.fingerprint;
}

}  // namespace seed::sshcli
