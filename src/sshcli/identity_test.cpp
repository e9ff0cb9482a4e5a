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

TEST(Identity, RsaModulusBitsFromTheBlob) {
  // Keys from `ssh-keygen -t rsa -b 2048` and `-b 1024`.
  KeyIdentity big{"ssh-rsa", "AAAAB3NzaC1yc2EAAAADAQABAAABAQC7kE8HyImWl2FcYK17K6ois2LH69JmcJzgLThTNhplF+3IKcX+IjiNgcUEAcBoD0weJKA4rNQX6Oi4GQZY2B+YOAbM62j6TV2YDMMJBniuraEUUNUlzUMaSzH3Dp4IDyGFvFXefw8ZE0Khk/Zq8GDTXSR/hz1TgOV0jLzpuyYGgbylwreKx4E8ApRpaCqTQHPfgDinbw9ZW9U1MxdY+trs7uAPi1pB+shfUFxBPUtwM4mQq63T1hhkyn6lzso4IgrFuQWOhqvE1fU9yr6iuUpH6F8TtHh3wPAwC1ta0snQhGVbrQeo2Eid+M491rFY7t9f08Mf10/3ILYBBsMnAr31", ""};
  KeyIdentity small{"ssh-rsa", "AAAAB3NzaC1yc2EAAAADAQABAAAAgQC8bq4YMPPhbwwDd6xB1NMJzaD4QLtjBJR2kg1PcnwTEwVsgDvZQjP4E5SMIh/y0Gfzk4CJtRmY2UpGnP4D4BKjCqI7ce8WaoqxIUVJgtj1zT/C3uRVqPMhF89gN5bugiD8n/9lgQq08yhP4XYNn/eXy4CfFF889ynufeAJshfjXQ==", ""};
  EXPECT_EQ(rsa_modulus_bits(big), 2048u);
  EXPECT_EQ(rsa_modulus_bits(small), 1024u);
  EXPECT_EQ(rsa_modulus_bits(KeyIdentity{"ssh-rsa", "AAAA", ""}), 0u);
  EXPECT_EQ(rsa_modulus_bits(identity_from_openssh(kKey)), 0u);  // not RSA
}

}  // namespace
}  // namespace seed::sshcli
