#include "api/acme/csr.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/acme/testing_csr.hpp"

namespace seed::api::acme {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::make_csr;

struct Key {
  EVP_PKEY* k;
  ~Key() { EVP_PKEY_free(k); }
};

std::string bad_csr_message(const std::string& der) {
  auto r = check_csr(der);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.error().get("acme_type"), "badCSR");
  return r.error().message;
}

TEST(Csr, NamesComeFromTheSansAndTheCommonNameInLowerCase) {
  Key key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  auto info = check_csr(make_csr(key.k, {"DNS:Web.Team.seed.test", "DNS:www.example.org"}, "web.team.seed.test"));
  ASSERT_TRUE(info.ok()) << info.error().describe();
  EXPECT_THAT(info->names, ElementsAre("web.team.seed.test", "www.example.org"));
  EXPECT_FALSE(info->key_spki_der.empty());
  auto cn_only = check_csr(make_csr(key.k, {}, "api.team.seed.test"));
  ASSERT_TRUE(cn_only.ok());
  EXPECT_THAT(cn_only->names, ElementsAre("api.team.seed.test"));
}

TEST(Csr, EveryKeyTypeAClientUsesIsAccepted) {
  for (EVP_PKEY* k : {EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}),
                      EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"), EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")}) {
    Key key{k};
    auto info = check_csr(make_csr(key.k, {"DNS:a.seed.test"}));
    EXPECT_TRUE(info.ok()) << info.error().describe();
  }
}

TEST(Csr, RefusalsSayWhatIsWrong) {
  Key key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  Key weak{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024})};
  EXPECT_THAT(bad_csr_message(""), HasSubstr("empty"));
  EXPECT_THAT(bad_csr_message("not der"), HasSubstr("not one DER-encoded"));
  EXPECT_THAT(bad_csr_message(make_csr(key.k, {"DNS:a.seed.test"}) + "x"), HasSubstr("not one DER-encoded"));
  EXPECT_THAT(bad_csr_message(make_csr(weak.k, {"DNS:a.seed.test"})), HasSubstr("RSA of 2048 bits"));
  EXPECT_THAT(bad_csr_message(make_csr(key.k, {"IP:10.0.0.1"})), HasSubstr("not a DNS name"));
  EXPECT_THAT(bad_csr_message(make_csr(key.k, {"DNS:a.seed.test"}, "b.seed.test")), HasSubstr("common name b.seed.test"));
  EXPECT_THAT(bad_csr_message(make_csr(key.k, {})), HasSubstr("names no DNS name"));
  // A signature that does not match: flip a byte near the end (inside the signature).
  std::string der = make_csr(key.k, {"DNS:a.seed.test"});
  der[der.size() - 3] ^= 0x01;
  EXPECT_THAT(bad_csr_message(der), ::testing::AnyOf(HasSubstr("does not verify"), HasSubstr("not one DER")));
}

}  // namespace
}  // namespace seed::api::acme
