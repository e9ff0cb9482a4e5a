// The SHA256 fingerprint of an OpenSSH public key, exactly as `ssh-keygen -lf` prints it:
// "SHA256:" + base64(sha256(key blob)) without '=' padding. Node owners hand it to tenants so
// their first `ssh <node>` can be checked against it.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::control {

struct SshKeyFingerprint {
  std::string type;         // "ssh-ed25519"
  std::string fingerprint;  // "SHA256:…"
  std::string comment;
};

// One line of a .pub file: "<type> <base64 blob> [comment]".
Result<SshKeyFingerprint> ssh_fingerprint(std::string_view pub_line);
// Reads the file (the sshcli helper writes it) and fingerprints its first key.
Result<SshKeyFingerprint> ssh_fingerprint_of_file(const std::string& path);

}  // namespace seed::control
