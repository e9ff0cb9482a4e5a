#include "common/digest.hpp"

#include <gtest/gtest.h>

namespace seed {
namespace {

TEST(Digest, Sha256KnownAnswers) {
  // FIPS 180-2 examples.
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, Base32MatchesRfc4648LowercaseUnpadded) {
  // RFC 4648 section 10 vectors, lowercased, padding removed.
  auto b32 = [](std::string_view s) {
    return base32_lower(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  EXPECT_EQ(b32(""), "");
  EXPECT_EQ(b32("f"), "my");
  EXPECT_EQ(b32("fo"), "mzxq");
  EXPECT_EQ(b32("foo"), "mzxw6");
  EXPECT_EQ(b32("foob"), "mzxw6yq");
  EXPECT_EQ(b32("fooba"), "mzxw6ytb");
  EXPECT_EQ(b32("foobar"), "mzxw6ytboi");
}

}  // namespace
}  // namespace seed
