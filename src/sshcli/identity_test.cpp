#include "sshcli/identity.hpp"

#include <gtest/gtest.h>

namespace seed::sshcli {
namespace {

// A real key and the fingerprint `ssh-keygen -lf` printed for it.
constexpr const char* kKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINK0Eg4jlP0l1Pl8Zi5nyNWF6tOJJrO4TsADjLG9mfGg alice@laptop";
constexpr const char* kFingerprint = "SHA256:N8MLDyYPrQu+HVDuExhRCqiOattKeEY81Xgt4E6mcbk";

TEST(Identity, FingerprintMatchesSshKeygen) {
  auto id = identity_from_openssh(kKey);
  EXPECT_EQ(id.type, "ssh-ed25519");
  EXPECT_EQ(id.fingerprint, kFingerprint);
  EXPECT_EQ(id.openssh(), std::string(kKey).substr(0, std::string(kKey).rfind(' ')));
  EXPECT_TRUE(identity_from_openssh("garbage").type.empty());
}

TEST(AuthorizedKeys, ComparesTypeAndBlobIgnoringCommentsAndOptions) {
  auto id = identity_from_openssh(kKey);
  std::string text = std::string("# team keys\n\n") +
                     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKeyAAA bob\n" +
                     "command=\"echo hi\",no-pty ssh-ed25519 " + id.blob + " a comment with spaces\r\n";
  EXPECT_TRUE(authorized_keys_list(text, id));
  auto keys = parse_authorized_keys(text);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1].comment, "a comment with spaces");

  EXPECT_FALSE(authorized_keys_list("# ssh-ed25519 " + id.blob + "\n", id));  // commented out
  EXPECT_FALSE(authorized_keys_list("ssh-rsa " + id.blob + "\n", id));        // same blob, other type
  EXPECT_FALSE(authorized_keys_list("", id));
  EXPECT_FALSE(authorized_keys_list(text, KeyIdentity{}));
}

}  // namespace
}  // namespace seed::sshcli
