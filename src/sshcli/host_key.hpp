// The node's SSH host key: Ed25519, generated on first start, then kept (0600) so clients'
// known_hosts stay valid across restarts. Node owners publish its fingerprint (seedctl prints it).
#pragma once

#include <string>

#include "common/error.hpp"

namespace seed::sshcli {

struct HostKey {
  std::string private_path;  // <dir>/ssh_host_ed25519_key (OpenSSH format, 0600)
  std::string public_path;   // <dir>/ssh_host_ed25519_key.pub
  std::string public_line;   // "ssh-ed25519 AAAA... seed"
  std::string fingerprint;   // "SHA256:..."
};

// Loads the key from `dir`, generating it when absent (the directory is created 0700). A key
// file that exists but cannot be read is an error, never silently replaced: clients would see
// a changed host key.
Result<HostKey> ensure_host_key(const std::string& dir);

// The fingerprint of the key in `dir` without generating one (Errc::not_found before the first
// start): what `seedctl` prints.
Result<std::string> host_key_fingerprint(const std::string& dir);

}  // namespace seed::sshcli
