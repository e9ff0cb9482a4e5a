// seedd's upstream ACME client against a real ACME CA, Debian's pebble (Go's JOSE checks, not
// our own verifier): the account key's requests are accepted (first through the curl tool,
// then through UpstreamClient), the account is made once and reused from the state
// directory, badNonce refusals (pebble rejecting half the nonces) are retried, and a refusal
// comes back with pebble's problem type.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/acme/account_key.hpp"
#include "api/acme/upstream_client.hpp"
#include "api/testing/pebble.hpp"
#include "common/fd.hpp"
#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::api::acme {
namespace {

using ::testing::HasSubstr;

using Ran = seed::api::testing::ToolRun;
using seed::api::testing::run_tool;

// The value of `name` in an HTTP head printed by curl -i/-I ("" if absent).
std::string header(const std::string& head, const std::string& name) {
  const std::string lower_head = [&] {
    std::string s = head;
    for (auto& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }();
  const auto at = lower_head.find("\n" + name + ":");
  if (at == std::string::npos) return "";
  const auto start = head.find_first_not_of(' ', at + name.size() + 2);
  return head.substr(start, head.find_first_of("\r\n", start) - start);
}

class UpstreamPebble : public ::testing::Test {
 protected:
  // Starts pebble rejecting `nonce_reject` percent of good nonces.
  void start(int nonce_reject) {
    const std::string failed = pebble_.start(dir_.path(), {nonce_reject, "", {}});
    ASSERT_EQ(failed, "");
    base_ = pebble_.base;
    directory_ = pebble_.directory;
  }
  std::string nonce() {
    Ran head = run_tool({"curl", "-sk", "-I", directory_["newNonce"].get<std::string>()});
    return header(head.output, "replay-nonce");
  }
  Ran post(const std::string& url, const std::string& body) {
    const std::string file = dir_.path() + "/body.json";
    EXPECT_TRUE(write_file_atomic(file, body, 0600).ok());
    return run_tool({"curl", "-sk", "-i", "-H", "Content-Type: application/jose+json", "--data-binary", "@" + file, url});
  }

  seed::testing::TempDir dir_;
  seed::api::testing::Pebble pebble_;
  std::string base_;
  nlohmann::json directory_;
};

TEST_F(UpstreamPebble, PebbleAcceptsNewAccountByJwkAndPostAsGetByKid) {
  ASSERT_NO_FATAL_FAILURE(start(0));
  auto key = AccountKey::load_or_create(dir_.path() + "/account.key");
  ASSERT_TRUE(key.ok()) << key.error().describe();
  const std::string new_account = directory_["newAccount"];
  auto body = (*key)->sign(new_account, nonce(), "", nlohmann::json{{"termsOfServiceAgreed", true}});
  ASSERT_TRUE(body.ok()) << body.error().describe();
  Ran created = post(new_account, *body);
  EXPECT_THAT(created.output, HasSubstr(" 201")) << created.output;
  const std::string account_url = header(created.output, "location");
  ASSERT_FALSE(account_url.empty()) << created.output;

  auto get = (*key)->sign(account_url, nonce(), account_url, std::nullopt);
  ASSERT_TRUE(get.ok()) << get.error().describe();
  Ran fetched = post(account_url, *get);
  EXPECT_THAT(fetched.output, HasSubstr(" 200")) << fetched.output;
  EXPECT_THAT(fetched.output, HasSubstr("\"valid\"")) << fetched.output;
}

UpstreamConfig upstream_config(const std::string& base, const std::string& dir) {
  UpstreamConfig c;
  c.directory_url = base + "/dir";
  c.state_dir = dir + "/upstream";
  c.email = "ops@example.org";
  c.ca_file = dir + "/pebble-cert.pem";  // pebble's listener certificate, made by Pebble::start
  return c;
}

TEST_F(UpstreamPebble, TheAccountIsMadeOnceAndReusedFromTheStateDirectory) {
  ASSERT_NO_FATAL_FAILURE(start(0));
  auto first = UpstreamClient::open(upstream_config(base_, dir_.path()));
  ASSERT_TRUE(first.ok()) << first.error().describe();
  const std::string account = (*first)->account_url();
  EXPECT_THAT(account, HasSubstr(base_));
  first->reset();  // as after a restart: new objects on the same state directory
  auto again = UpstreamClient::open(upstream_config(base_, dir_.path()));
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ((*again)->account_url(), account);
  auto fetched = (*again)->post(account, std::nullopt);
  ASSERT_TRUE(fetched.ok()) << fetched.error().describe();
  EXPECT_EQ(fetched->status, 200);
  EXPECT_THAT(fetched->body, HasSubstr("mailto:ops@example.org"));
}

TEST_F(UpstreamPebble, BadNonceRefusalsAreRetried) {
  ASSERT_NO_FATAL_FAILURE(start(50));
  // With half the nonces refused, 5 retries (the default, for real CAs that rarely refuse)
  // would leave 1 request in 64 failing; 30 make a failure of these 21 requests about 2e-8.
  UpstreamConfig config = upstream_config(base_, dir_.path());
  config.bad_nonce_retries = 30;
  auto client = UpstreamClient::open(config);
  ASSERT_TRUE(client.ok()) << client.error().describe();
  // Half of all nonces are refused: 20 requests without retries would almost surely fail
  // (each succeeds on its own with 1/2; all with 2^-20).
  for (int i = 0; i < 20; ++i) {
    auto r = (*client)->post((*client)->account_url(), std::nullopt);
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }
  EXPECT_GT((*client)->bad_nonce_retries_used(), 0);
}

TEST_F(UpstreamPebble, TheCasRefusalComesBackWithItsProblemType) {
  ASSERT_NO_FATAL_FAILURE(start(0));
  auto client = UpstreamClient::open(upstream_config(base_, dir_.path()));
  ASSERT_TRUE(client.ok()) << client.error().describe();
  const nlohmann::json order{{"identifiers", {{{"type", "email"}, {"value", "ops@example.org"}}}}};
  auto r = (*client)->post((*client)->directory()["newOrder"], order);
  ASSERT_FALSE(r.ok());
  ASSERT_TRUE(r.error().get("acme_type").has_value()) << r.error().describe();
  EXPECT_NE(*r.error().get("acme_type"), "serverInternal") << r.error().describe();
  EXPECT_THAT(r.error().describe(), HasSubstr("the upstream CA refused"));
}

}  // namespace
}  // namespace seed::api::acme
