#include "tpm/age_recipient.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "common/testing/temp_dir.hpp"

namespace seed::tpm {
namespace {

// A test-side bech32 encoder (BIP-173), used only to make well-formed recipients; the checker
// itself is pinned by the published BIP-173 and age vectors below.
std::string bech32_encode(const std::string& hrp, const std::vector<uint8_t>& data5) {
  const char* charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
  auto polymod = [](const std::vector<uint8_t>& v) {
    const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint32_t chk = 1;
    for (uint8_t x : v) {
      uint32_t top = chk >> 25;
      chk = (chk & 0x1ffffff) << 5 ^ x;
      for (int i = 0; i < 5; ++i) chk ^= ((top >> i) & 1) ? gen[i] : 0;
    }
    return chk;
  };
  std::vector<uint8_t> values;
  for (char c : hrp) values.push_back(static_cast<uint8_t>(c) >> 5);
  values.push_back(0);
  for (char c : hrp) values.push_back(static_cast<uint8_t>(c) & 31);
  values.insert(values.end(), data5.begin(), data5.end());
  values.insert(values.end(), 6, 0);
  uint32_t mod = polymod(values) ^ 1;
  std::string out = hrp + "1";
  for (uint8_t d : data5) out.push_back(charset[d]);
  for (int i = 0; i < 6; ++i) out.push_back(charset[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

std::string sample_recipient() {
  std::vector<uint8_t> data;
  for (int i = 0; i < 53; ++i) data.push_back(static_cast<uint8_t>((i * 7 + 3) % 32));
  return bech32_encode("age1tpm", data);
}

TEST(Bech32, PublishedVectors) {
  // BIP-173 valid test vectors.
  EXPECT_TRUE(bech32_valid("a12uel5l"));
  EXPECT_TRUE(bech32_valid("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"));
  EXPECT_TRUE(bech32_valid("split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"));
  EXPECT_TRUE(bech32_valid("?1ezyfcl"));
  // The X25519 recipient from age's documentation.
  EXPECT_TRUE(bech32_valid("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"));
  // BIP-173 invalid vectors.
  EXPECT_FALSE(bech32_valid("pzry9x0s0muk"));  // no separator
  EXPECT_FALSE(bech32_valid("1pzry9x0s0muk"));  // empty HRP
  EXPECT_FALSE(bech32_valid("x1b4n0q5v"));      // invalid data character
  EXPECT_FALSE(bech32_valid("li1dgmt3"));       // checksum too short
  EXPECT_FALSE(bech32_valid("a12uel5m"));       // one character off
}

TEST(AgeRecipient, AcceptsWellFormedTpmRecipients) {
  std::string r = sample_recipient();
  ASSERT_EQ(r.rfind("age1tpm1", 0), 0u);
  EXPECT_TRUE(validate_age_recipient(r).ok()) << validate_age_recipient(r).error().describe();
}

TEST(AgeRecipient, RejectsEverythingElse) {
  std::string good = sample_recipient();
  std::string flipped = good;
  flipped[20] = flipped[20] == 'q' ? 'p' : 'q';
  std::string upper = good;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  struct Case {
    std::string text;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{
           {"", "empty"},
           {"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", "age1tpm1"},
           {flipped, "checksum"},
           {upper, "age1tpm1"},
           {good + "\n", "bech32 alphabet"},
           {good + " extra", "bech32 alphabet"},
           {"age1tpm1qqqqq", "too short"},
           {"age1tpm1" + std::string(2000, 'q'), "too long"},
           {"AGE-PLUGIN-TPM-1QQQQ", "age1tpm1"},
       }) {
    auto s = validate_age_recipient(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.error().code, Errc::invalid_argument);
    EXPECT_NE(s.error().message.find(c.why), std::string::npos) << s.error().message;
    EXPECT_LT(s.error().message.size(), 300u) << "echoes too much untrusted text";
  }
}

TEST(AgeRecipient, ReadsTheShareFileStrictly) {
  seed::testing::TempDir share;
  auto missing = read_age_recipient(share.path(), "team.web");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("team.web"), std::string::npos);

  std::string good = sample_recipient();
  std::ofstream(share.path() + "/age-recipient") << good << "\n";
  auto read = read_age_recipient(share.path(), "team.web");
  ASSERT_TRUE(read.ok()) << read.error().describe();
  EXPECT_EQ(*read, good);

  std::ofstream(share.path() + "/age-recipient") << good << "\n\n";
  EXPECT_FALSE(read_age_recipient(share.path(), "team.web").ok());

  // A guest-planted symlink (to a host file) is refused, not followed.
  ::unlink((share.path() + "/age-recipient").c_str());
  std::ofstream(share.path() + "/target") << good;
  ASSERT_EQ(::symlink((share.path() + "/target").c_str(),
                      (share.path() + "/age-recipient").c_str()), 0);
  auto link = read_age_recipient(share.path(), "team.web");
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("not a small regular file"), std::string::npos);

  // A FIFO would block a naive reader forever.
  ::unlink((share.path() + "/age-recipient").c_str());
  ASSERT_EQ(::mkfifo((share.path() + "/age-recipient").c_str(), 0600), 0);
  EXPECT_FALSE(read_age_recipient(share.path(), "team.web").ok());
}

}  // namespace
}  // namespace seed::tpm
