#include "control/ssh_fingerprint.hpp"

#include <gtest/gtest.h>

namespace seed::control {
namespace {

// Both vectors: keys made by `ssh-keygen -t ed25519|rsa` (OpenSSH 9.2, Debian 12) and the
// fingerprints `ssh-keygen -lf` printed for them. The RSA blob ends in '==' padding.
constexpr const char* ed25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAwh4boBQiW3Zhqgneapkayf4TKd90vhGRCMZQmwtgfP seed-test\n";
constexpr const char* rsa =
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC3lAlleO8ntHK05rtdKb0P1+wVgExqlqp3GUOGRuLfr8fwDvN4oSMyki7monvk5b8sVGQoNY85"
    "Dg07hX9vLunAffGg6uiI3JSLNkTqZtMsJvV4EOLeRQBKBaiNR4aa3McAbFXYK/z0MABHjkxaV6UNo3gNs5X+NbgGH0mYSik8fQ== r";

TEST(SshFingerprint, MatchesSshKeygenForEd25519) {
  auto fp = ssh_fingerprint(ed25519);
  ASSERT_TRUE(fp.ok()) << fp.error().describe();
  EXPECT_EQ(fp->fingerprint, "SHA256:AlbVFh4qu8WUIGLU0eJpCjADI4E1k7YukOROnXXdicI");
  EXPECT_EQ(fp->type, "ssh-ed25519");
  EXPECT_EQ(fp->comment, "seed-test");
}

TEST(SshFingerprint, MatchesSshKeygenForPaddedRsaBlob) {
  auto fp = ssh_fingerprint(rsa);
  ASSERT_TRUE(fp.ok()) << fp.error().describe();
  EXPECT_EQ(fp->fingerprint, "SHA256:cYU8xsfiYLhXK52R/oajxe4nitb+XXmDVPWg3sNbEDU");
}

TEST(SshFingerprint, RejectsBrokenLines) {
  for (const char* bad : {"", "ssh-ed25519", "ssh-ed25519 !!!!", "ssh-ed25519 AAAA",
                          // a valid blob under the wrong type name
                          "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAwh4boBQiW3Zhqgneapkayf4TKd90vhGRCMZQmwtgfP"}) {
    auto fp = ssh_fingerprint(bad);
    ASSERT_FALSE(fp.ok()) << bad;
    EXPECT_EQ(fp.error().code, Errc::invalid_argument);
    EXPECT_EQ(fp.error().get("stage"), "ssh-host-key");
  }
}

TEST(SshFingerprint, MissingFileNamesPathAndWhatToDo) {
  auto fp = ssh_fingerprint_of_file("/nonexistent/ssh/host_ed25519_key.pub");
  ASSERT_FALSE(fp.ok());
  EXPECT_EQ(fp.error().get("path"), "/nonexistent/ssh/host_ed25519_key.pub");
  EXPECT_TRUE(fp.error().get("hint").has_value());
}

}  // namespace
}  // namespace seed::control
