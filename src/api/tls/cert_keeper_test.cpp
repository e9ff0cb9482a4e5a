// seedd's own certificate with the real internal CA and real OpenSSL: obtained, stored 0600,
// reused after a restart, replaced when the stored pair is unusable, and renewed at 2/3 of a
// short lifetime with a later notBefore. The `openssl` tool checks what was stored, as a
// client checking seedd's names would.
#include "api/tls/cert_keeper.hpp"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "api/acme/internal_ca.hpp"
#include "api/testing/pebble.hpp"
#include "common/fd.hpp"
#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::api::tls {
namespace {

using ::testing::HasSubstr;

// openssl's output (stdout and stderr), through the tests' one runner of real programs.
std::string openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  return api::testing::run_tool(std::move(args), {}, std::chrono::seconds(20)).output;
}

class CertKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_config_.dir = dir_.path() + "/ca";
    ca_config_.domain = "seed.test";
    auto ca = acme::InternalCa::open(ca_config_);
    ASSERT_TRUE(ca) << ca.error().describe();
    ca_ = std::move(*ca);
    config_.dir = dir_.path() + "/seedd-tls";
    config_.names = {"silo.seed.test", "hooks.seed.test"};
    config_.issuer_id = "internal";
    config_.first_backoff = std::chrono::seconds(1);
    config_.min_renewal_interval = std::chrono::seconds(1);
  }
  std::unique_ptr<CertKeeper> start() {
    auto k = CertKeeper::start(config_, *ca_, [this](const std::string& chain, const std::string& key) {
      std::lock_guard lock(mu_);
      chains_.push_back(chain);
      keys_.push_back(key);
    });
    EXPECT_TRUE(k) << k.error().describe();
    return k ? std::move(*k) : nullptr;
  }
  // Waits (bounded, not timed: the bound only keeps a broken keeper from hanging the suite)
  // until the sink has seen `n` certificates.
  bool wait_for(size_t n) {
    for (int i = 0; i < 1200; ++i) {
      if (seen() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  size_t seen() {
    std::lock_guard lock(mu_);
    return chains_.size();
  }
  std::string chain(size_t i) {
    std::lock_guard lock(mu_);
    return chains_.at(i);
  }
  seed::testing::TempDir dir_;
  acme::InternalCaConfig ca_config_;
  std::unique_ptr<acme::InternalCa> ca_;
  CertKeeperConfig config_;
  std::mutex mu_;
  std::vector<std::string> chains_, keys_;
};

TEST_F(CertKeeperTest, ObtainsACertificateForItsNamesStoresIt0600AndReusesItAfterARestart) {
  auto keeper = start();
  ASSERT_TRUE(keeper);
  ASSERT_TRUE(wait_for(1));
  ASSERT_TRUE(keeper->current());
  for (const auto& path : {keeper->cert_path(), keeper->key_path()}) {
    struct stat st{};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
  }
  EXPECT_EQ(*read_file(keeper->cert_path()), chain(0));
  ASSERT_TRUE(write_file_atomic(dir_.path() + "/root.pem", ca_->root_pem()));
  for (const auto& name : config_.names) {
    EXPECT_THAT(openssl({"verify", "-CAfile", dir_.path() + "/root.pem", "-verify_hostname", name, keeper->cert_path()}),
                HasSubstr(": OK"))
        << name;
  }
  const std::string first = chain(0);
  keeper.reset();

  // A restart: the stored pair is served before start() returns, and no new one is ordered.
  auto again = start();
  ASSERT_TRUE(again);
  ASSERT_EQ(seen(), 2u);
  EXPECT_EQ(chain(1), first);
  EXPECT_EQ(*read_file(again->cert_path()), first);
}

TEST_F(CertKeeperTest, AStoredPairWhoseKeyDoesNotMatchIsReplacedNotServed) {
  {
    auto keeper = start();
    ASSERT_TRUE(keeper && wait_for(1));
  }
  // As if seedd died between writing key.pem and cert.pem of a renewal.
  ASSERT_TRUE(write_file_atomic(config_.dir + "/key.pem", openssl({"genpkey", "-algorithm", "EC", "-pkeyopt",
                                                                     "ec_paramgen_curve:P-256"}),
                                0600));
  auto keeper = start();
  ASSERT_TRUE(keeper);
  ASSERT_TRUE(wait_for(2));
  EXPECT_NE(chain(1), chain(0));
  EXPECT_THAT(openssl({"x509", "-noout", "-pubkey", "-in", keeper->cert_path()}),
              ::testing::Eq(openssl({"pkey", "-pubout", "-in", keeper->key_path()})));
}

TEST_F(CertKeeperTest, AStoredCertificateFromAnotherCaIsReplacedAtStart) {
  {
    auto keeper = start();
    ASSERT_TRUE(keeper && wait_for(1));
  }
  // The owner switched acme.upstream (here: to another directory): the stored certificate is
  // not served, a new one is ordered from the configured CA.
  config_.issuer_id = "acme https://ca.example/dir";
  auto keeper = start();
  ASSERT_TRUE(keeper);
  ASSERT_TRUE(wait_for(2));
  EXPECT_NE(chain(1), chain(0)) << "the other CA's certificate was served at start";
  EXPECT_EQ(*read_file(keeper->issuer_path()), "acme https://ca.example/dir\n");
}

TEST_F(CertKeeperTest, RenewsAtTwoThirdsOfItsLifetimeWithALaterNotBefore) {
  // The internal CA backdates notBefore by 60 s: a 36 s lifetime spans 96 s, renewed 64 s in,
  // that is 4 s after issue.
  ca_config_.leaf_lifetime = std::chrono::seconds(36);
  auto ca = acme::InternalCa::open(ca_config_);
  ASSERT_TRUE(ca);
  ca_ = std::move(*ca);
  auto keeper = start();
  ASSERT_TRUE(keeper);
  ASSERT_TRUE(wait_for(1));
  auto first = leaf_dates(chain(0));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->renew_at(), first->not_before + 64);
  ASSERT_TRUE(wait_for(2));
  auto second = leaf_dates(chain(1));
  ASSERT_TRUE(second);
  EXPECT_GT(second->not_before, first->not_before);
  EXPECT_EQ(*read_file(keeper->cert_path()), chain(1));
}

// The real internal CA behind a wrapper that refuses the first `failures` orders, as an
// unreachable or rate-limiting upstream would. The wrapper cannot show how a real upstream
// fails (api-acme-upstream and seedd-public-tls use pebble); it shows the keeper's retry.
class FailingFirst final : public acme::Issuer {
 public:
  FailingFirst(acme::Issuer& real, int failures) : real_(real), failures_(failures) {}
  Result<std::string> start_order(const std::vector<std::string>& names) override {
    if (calls_.fetch_add(1) < failures_) return make_error(Errc::unavailable, "the CA cannot be reached");
    return real_.start_order(names);
  }
  acme::IssueState state(const std::string& h) override { return real_.state(h); }
  Status finalize(const std::string& h, const acme::CsrInfo& csr) override { return real_.finalize(h, csr); }
  void forget(const std::string& h) override { real_.forget(h); }
  int calls() const { return calls_.load(); }

 private:
  acme::Issuer& real_;
  const int failures_;
  std::atomic<int> calls_{0};
};

TEST_F(CertKeeperTest, AFailedOrderIsRetriedAfterTheBackoff) {
  FailingFirst issuer(*ca_, 2);
  auto keeper = CertKeeper::start(config_, issuer, [this](const std::string& chain, const std::string& key) {
    std::lock_guard lock(mu_);
    chains_.push_back(chain);
    keys_.push_back(key);
  });
  ASSERT_TRUE(keeper) << keeper.error().describe();
  ASSERT_TRUE(wait_for(1));
  EXPECT_EQ(issuer.calls(), 3);  // two refused, the third (after 1 s, then 2 s) issued
  EXPECT_EQ(*read_file((*keeper)->cert_path()), chain(0));
}

}  // namespace
}  // namespace seed::api::tls
