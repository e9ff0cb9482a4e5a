// The internal CA with real OpenSSL: certificates it issues are checked by the `openssl`
// command-line tool (verify against the root, the SANs, the key), as a node owner's device or
// a guest's TLS stack would check them.
#include "api/acme/internal_ca.hpp"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/acme/testing_csr.hpp"
#include "common/fd.hpp"
#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::api::acme {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string openssl(const std::vector<std::string>& args) {
  SpawnOptions o;
  o.argv = {"openssl"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.timeout = std::chrono::seconds(20);
  auto r = run(std::move(o), ro);
  return r.ok() ? r->out + r->err : "openssl failed: " + r.error().describe();
}

class InternalCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.dir = dir_.path() + "/ca";
    config_.domain = "seed.test";
    config_.leaf_lifetime = std::chrono::hours(48);
    key_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  }
  void TearDown() override { EVP_PKEY_free(key_); }
  std::string issue(InternalCa& ca, const std::vector<std::string>& names) {
    std::vector<std::string> sans;
    for (const auto& n : names) sans.push_back("DNS:" + n);
    auto csr = check_csr(testing::make_csr(key_, sans));
    EXPECT_TRUE(csr.ok()) << csr.error().describe();
    auto pem = ca.issue(*csr, names);
    EXPECT_TRUE(pem.ok()) << pem.error().describe();
    return pem.ok() ? *pem : "";
  }
  seed::testing::TempDir dir_;
  InternalCaConfig config_;
  EVP_PKEY* key_ = nullptr;
};

TEST_F(InternalCaTest, IssuedCertificatesVerifyAgainstTheRootWithTheCsrKeyAndNames) {
  auto ca = InternalCa::open(config_);
  ASSERT_TRUE(ca.ok()) << ca.error().describe();
  const std::string chain = issue(**ca, {"web.team.seed.test", "www.team.seed.test"});
  ASSERT_TRUE(write_file_atomic(dir_.path() + "/chain.pem", chain).ok());
  EXPECT_THAT(openssl({"verify", "-CAfile", config_.dir + "/ca.pem", "-purpose", "sslserver", dir_.path() + "/chain.pem"}),
              HasSubstr(": OK"));
  const std::string text = openssl({"x509", "-in", dir_.path() + "/chain.pem", "-noout", "-text"});
  EXPECT_THAT(text, HasSubstr("DNS:web.team.seed.test, DNS:www.team.seed.test"));
  EXPECT_THAT(text, HasSubstr("TLS Web Server Authentication"));
  EXPECT_THAT(text, HasSubstr("CA:FALSE"));
  // The certificate's key is the CSR's: its public key equals the one the test made.
  const std::string cert_pub = openssl({"x509", "-in", dir_.path() + "/chain.pem", "-noout", "-pubkey"});
  unsigned char* spki = nullptr;
  const int n = i2d_PUBKEY(key_, &spki);
  ASSERT_TRUE(write_file_atomic(dir_.path() + "/key.der", std::string(reinterpret_cast<char*>(spki), size_t(n))).ok());
  OPENSSL_free(spki);
  EXPECT_EQ(cert_pub, openssl({"pkey", "-pubin", "-inform", "DER", "-in", dir_.path() + "/key.der"}));
  // Two days, as configured (notAfter - notBefore = 48 h + the minute of back-dating).
  EXPECT_THAT(openssl({"x509", "-in", dir_.path() + "/chain.pem", "-noout", "-checkend", "169000"}), HasSubstr("will not expire"));
  EXPECT_THAT(openssl({"x509", "-in", dir_.path() + "/chain.pem", "-noout", "-checkend", "173000"}), HasSubstr("will expire"));
}

TEST_F(InternalCaTest, TheRootIsMadeOncePrivatelyAndOnlyVouchesForTheNodesZone) {
  std::string root;
  {
    auto ca = InternalCa::open(config_);
    ASSERT_TRUE(ca.ok());
    root = (*ca)->root_pem();
  }
  struct stat st{};
  ASSERT_EQ(::stat((config_.dir + "/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = InternalCa::open(config_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->root_pem(), root);  // the same root, not a new one
  // Name constraints: even if asked (the facade never asks), a name outside the zone does not
  // verify, so a device that trusts the root trusts it for the node's names only.
  const std::string foreign = issue(**again, {"bank.example.com"});
  ASSERT_TRUE(write_file_atomic(dir_.path() + "/foreign.pem", foreign).ok());
  EXPECT_THAT(openssl({"verify", "-CAfile", config_.dir + "/ca.pem", dir_.path() + "/foreign.pem"}), Not(HasSubstr(": OK")));
}

TEST_F(InternalCaTest, ALostKeyIsAnErrorNotASilentNewRoot) {
  ASSERT_TRUE(InternalCa::open(config_).ok());
  ASSERT_EQ(::unlink((config_.dir + "/ca.key").c_str()), 0);
  auto ca = InternalCa::open(config_);
  ASSERT_FALSE(ca.ok());
  EXPECT_EQ(ca.error().code, Errc::conflict);
  EXPECT_THAT(ca.error().message, HasSubstr("ca.key is missing"));
  EXPECT_THAT(ca.error().describe(), HasSubstr("backup"));
}

}  // namespace
}  // namespace seed::api::acme
