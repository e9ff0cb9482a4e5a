// Who is calling: the SSH public key a session authenticated with. There are no accounts; the
// key is the identity, and `.authorized_keys` files decide what it may do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace seed::sshcli {

struct KeyIdentity {
  std::string type;         // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
  std::string blob;         // the base64 of the public key, as in authorized_keys
  std::string fingerprint;  // "SHA256:..." as `ssh-keygen -l` prints it

  // "type base64": the form kept as a Silo repository's owner.
  std::string openssh() const { return type + " " + blob; }
  bool same_key(const KeyIdentity& other) const { return type == other.type && blob == other.blob; }
};

// One key of an OpenSSH authorized_keys file. Options before the key type (command="…",
// from="…") are skipped: here a listed key grants authority over the repository, nothing more.
struct AuthorizedKey {
  std::string type;
  std::string blob;
  std::string comment;
};

// Every key line of `text`; blank lines, comments and lines without a recognizable key are
// ignored (a typo on one line must not lock everybody else out).
std::vector<AuthorizedKey> parse_authorized_keys(std::string_view text);

// Whether `text` lists `key` (type and base64 blob compared; comments ignored).
bool authorized_keys_list(std::string_view text, const KeyIdentity& key);

// "ssh-ed25519 AAAA... comment" → identity with its SHA256 fingerprint; empty type on garbage.
KeyIdentity identity_from_openssh(std::string_view line);

// The modulus size of an "ssh-rsa" key, read from its blob (string type, mpint e, mpint n);
// 0 for other types or a malformed blob. libssh 0.10 has no call for it.
unsigned rsa_modulus_bits(const KeyIdentity& key);

}  // namespace seed::sshcli
