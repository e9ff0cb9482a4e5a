// seedd's upstream account key: made once (0600), the same after a reload, and its requests
// pass the facade's own JWS verifier (which real lego and certbot requests also pass).
#include "api/acme/account_key.hpp"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/acme/jws.hpp"
#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::api::acme {
namespace {

using ::testing::HasSubstr;

TEST(AccountKey, MadeOnceWith0600AndTheSameAfterReload) {
  seed::testing::TempDir dir;
  const std::string path = dir.path() + "/upstream-account.key";
  auto first = AccountKey::load_or_create(path);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = AccountKey::load_or_create(path);
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ((*again)->jwk(), (*first)->jwk());
  EXPECT_EQ((*again)->thumbprint(), (*first)->thumbprint());
  EXPECT_FALSE((*first)->jwk().contains("d"));  // never the private part
}

TEST(AccountKey, SignedRequestsVerifyWithJwkAndWithKid) {
  seed::testing::TempDir dir;
  auto key = AccountKey::load_or_create(dir.path() + "/k");
  ASSERT_TRUE(key.ok()) << key.error().describe();
  auto body = (*key)->sign("https://ca.test/new-account", "nonce1", "", nlohmann::json{{"termsOfServiceAgreed", true}});
  ASSERT_TRUE(body.ok()) << body.error().describe();
  auto jws = parse_jws(*body);
  ASSERT_TRUE(jws.ok()) << jws.error().describe();
  EXPECT_EQ(jws->alg, "ES256");
  EXPECT_EQ(jws->url, "https://ca.test/new-account");
  EXPECT_EQ(jws->nonce, "nonce1");
  ASSERT_TRUE(jws->jwk.has_value());
  auto pub = public_key_from_jwk(*jws->jwk);
  ASSERT_TRUE(pub.ok()) << pub.error().describe();
  EXPECT_TRUE(verify_jws(*jws, pub->get()).ok());
  EXPECT_EQ(nlohmann::json::parse(jws->payload)["termsOfServiceAgreed"], true);

  auto get = (*key)->sign("https://ca.test/order/1", "nonce2", "https://ca.test/acct/1", std::nullopt);
  ASSERT_TRUE(get.ok()) << get.error().describe();
  auto as_get = parse_jws(*get);
  ASSERT_TRUE(as_get.ok()) << as_get.error().describe();
  EXPECT_TRUE(as_get->post_as_get);
  EXPECT_EQ(as_get->kid, "https://ca.test/acct/1");
  EXPECT_FALSE(as_get->jwk.has_value());
  EXPECT_TRUE(verify_jws(*as_get, pub->get()).ok());
}

TEST(AccountKey, AFileThatIsNoP256KeyIsAnErrorNamingItAndIsLeftAlone) {
  seed::testing::TempDir dir;
  const std::string path = dir.path() + "/k";
  ASSERT_TRUE(write_file_atomic(path, "not a key\n", 0600).ok());
  auto key = AccountKey::load_or_create(path);
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(key.error().describe(), HasSubstr("not a P-256 private key"));
  EXPECT_THAT(key.error().describe(), HasSubstr(path));
  EXPECT_EQ(read_file(path).value(), "not a key\n");
}

}  // namespace
}  // namespace seed::api::acme
