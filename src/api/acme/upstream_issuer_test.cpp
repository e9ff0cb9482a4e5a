// UpstreamIssuer against a scripted CA on loopback, for what pebble cannot be made to do: a
// CA that names its CAA identity (pebble's directory has no caaIdentities) and one that
// answers newOrder with rateLimited; and an order that turns ready and expires within seconds
// (a real CA's orders live for days). The fake CA verifies no JWS and keeps no state beyond a
// counter: the protocol itself is checked against real pebble (seedd-acme-upstream,
// api-acme-upstream); this shows only what seedd does with these answers.
#include <atomic>
#include <filesystem>
#include <set>
#include <chrono>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/acme/upstream_issuer.hpp"
#include "api/http_server.hpp"
#include "api/testing/listen.hpp"
#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"
#include "common/time_text.hpp"

namespace seed::api::acme {
namespace {

using ::testing::HasSubstr;

class RecordedRecords final : public ChallengeRecords {
 public:
  Status set_txt(const std::string& owner, const std::string& value) override {
    std::lock_guard lock(mu);
    txt.insert(owner + " " + value);
    ++published;
    return ok();
  }
  Status clear_txt(const std::string& owner, const std::string& value) override {
    std::lock_guard lock(mu);
    txt.erase(owner + " " + value);
    return ok();
  }
  Status set_caa(const std::string& issuer_domain, const std::string& account_uri) override {
    std::lock_guard lock(mu);
    caa = issuer_domain + " " + account_uri;
    return ok();
  }
  std::string recorded() {
    std::lock_guard lock(mu);
    return caa;
  }
  std::set<std::string> live_txt() {
    std::lock_guard lock(mu);
    return txt;
  }
  std::mutex mu;
  std::string caa;
  std::set<std::string> txt;  // published and not cleared
  int published = 0;
};

class UpstreamIssuerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uint16_t port = 0;
    UniqueFd socket = testing::listen_on("127.0.0.1", &port);
    base_ = "http://127.0.0.1:" + std::to_string(port);
    Router r;
    auto with_nonce = [](Response resp) { return std::move(resp.with_header("Replay-Nonce", "n")); };
    r.add("GET", "/dir", [this, with_nonce](const Request&) {
      Response resp;
      resp.body = nlohmann::json{{"newNonce", base_ + "/nonce"}, {"newAccount", base_ + "/acct"},
                                 {"newOrder", base_ + "/order"}, {"meta", {{"caaIdentities", {"ca.test"}}}}}.dump();
      return with_nonce(resp);
    });
    r.add("HEAD", "/nonce", [with_nonce](const Request&) { return with_nonce(Response{}); });
    r.add("POST", "/acct", [this, with_nonce](const Request&) {
      Response resp;
      resp.status = 201;
      resp.body = R"({"status":"valid"})";
      return std::move(with_nonce(resp).with_header("Location", base_ + "/acct/7"));
    });
    r.add("POST", "/order", [this, with_nonce](const Request&) {
      ++new_orders_;
      if (expiring_) {
        Response resp;
        resp.status = 201;
        resp.body = nlohmann::json{{"status", "pending"}, {"finalize", base_ + "/o/2/finalize"}}.dump();
        return std::move(with_nonce(resp).with_header("Location", base_ + "/o/2"));
      }
      if (malformed_) {
        Response resp;
        resp.status = 201;
        resp.body = nlohmann::json{{"status", "pending"}, {"finalize", base_ + "/o/1/finalize"}}.dump();
        return std::move(with_nonce(resp).with_header("Location", base_ + "/o/1"));
      }
      Response resp = problem(429, "urn:ietf:params:acme:error:rateLimited", "too many certificates for seed.test");
      return std::move(with_nonce(resp).with_header("Retry-After", "3600"));
    });
    // An order whose authorizations are numbers, not URLs.
    r.add("POST", "/o/1", [with_nonce](const Request&) {
      Response resp;
      resp.body = R"({"status":"pending","authorizations":[5]})";
      return with_nonce(resp);
    });
    // Pending with one dns-01 authorization until its challenge is answered, then ready; it
    // expires 5 s after the test starts.
    const std::string expires = format_rfc3339_us((now_unix_us() / 1000000 + 5) * 1000000);
    r.add("POST", "/o/2", [this, with_nonce, expires](const Request&) {
      Response resp;
      resp.body = nlohmann::json{{"status", answered_ ? "ready" : "pending"},
                                 {"expires", expires},
                                 {"authorizations", {base_ + "/authz/2"}},
                                 {"finalize", base_ + "/o/2/finalize"}}
                      .dump();
      return with_nonce(resp);
    });
    r.add("POST", "/authz/2", [this, with_nonce](const Request&) {
      Response resp;
      resp.body = nlohmann::json{{"identifier", {{"type", "dns"}, {"value", "web.team.seed.test"}}},
                                 {"status", "pending"},
                                 {"challenges", {{{"type", "dns-01"}, {"url", base_ + "/chall/2"}, {"token", "tok"},
                                                  {"status", "pending"}}}}}
                      .dump();
      return with_nonce(resp);
    });
    r.add("POST", "/chall/2", [this, with_nonce](const Request&) {
      answered_ = true;
      Response resp;
      resp.body = "{}";
      return with_nonce(resp);
    });
    std::vector<Listener> listeners;
    listeners.push_back({"ca", std::move(socket), std::move(r)});
    auto server = HttpServer::start(std::move(listeners), HttpLimits{});
    ASSERT_TRUE(server.ok()) << server.error().describe();
    server_ = std::move(*server);
  }
  UpstreamConfig config() {
    UpstreamConfig c;
    c.directory_url = base_ + "/dir";
    c.state_dir = dir_.path() + "/upstream";
    return c;
  }
  // Polls (bounded, 400 × 25 ms) until `done` holds.
  template <typename F>
  bool eventually(F done) {
    for (int i = 0; i < 400; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return done();
  }

  seed::testing::TempDir dir_;
  std::string base_;
  std::atomic<int> new_orders_{0};
  bool malformed_ = false;  // set before the issuer starts
  bool expiring_ = false;   // likewise
  std::atomic<bool> answered_{false};
  RecordedRecords records_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(UpstreamIssuerTest, TheApexCaaNamesTheCaAndSeeddsAccountOnceKnown) {
  auto issuer = UpstreamIssuer::open(config(), records_);
  ASSERT_TRUE(issuer.ok()) << issuer.error().describe();
  EXPECT_TRUE(eventually([&] { return !records_.recorded().empty(); }));
  EXPECT_EQ(records_.recorded(), "ca.test " + base_ + "/acct/7");
  EXPECT_EQ((*issuer)->account_url(), base_ + "/acct/7");
}

TEST_F(UpstreamIssuerTest, ARateLimitFailsTheOrderWithTheResetTimeAndHoldsNewOrdersWithoutAskingTheCa) {
  auto issuer = UpstreamIssuer::open(config(), records_);
  ASSERT_TRUE(issuer.ok()) << issuer.error().describe();
  auto handle = (*issuer)->start_order({"web.team.seed.test"});
  ASSERT_TRUE(handle.ok()) << handle.error().describe();
  IssueState st;
  EXPECT_TRUE(eventually([&] { return (st = (*issuer)->state(*handle)).status == "invalid"; }));
  ASSERT_TRUE(st.problem.has_value());
  EXPECT_EQ(st.problem->type, "rateLimited");
  EXPECT_EQ(st.problem->retry_after, "3600");
  EXPECT_THAT(st.problem->detail, HasSubstr("too many certificates for seed.test"));
  EXPECT_THAT(st.problem->detail, HasSubstr("retry after 3600"));
  // While the limit holds, the guest's newOrder is refused at once with rateLimited.
  auto again = (*issuer)->start_order({"web.team.seed.test"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().get("acme_type"), "rateLimited");
  ASSERT_TRUE(again.error().get("retry_after").has_value());
  EXPECT_GT(std::stoi(std::string(*again.error().get("retry_after"))), 3000);
  EXPECT_EQ(new_orders_.load(), 1);
}

TEST_F(UpstreamIssuerTest, ACaAnswerOfTheWrongShapeFailsTheOrderNotSeedd) {
  malformed_ = true;
  auto issuer = UpstreamIssuer::open(config(), records_);
  ASSERT_TRUE(issuer.ok()) << issuer.error().describe();
  auto handle = (*issuer)->start_order({"web.team.seed.test"});
  ASSERT_TRUE(handle.ok()) << handle.error().describe();
  IssueState st;
  EXPECT_TRUE(eventually([&] { return (st = (*issuer)->state(*handle)).status == "invalid"; }));
  ASSERT_TRUE(st.problem.has_value());
  EXPECT_EQ(st.problem->type, "serverInternal");
  EXPECT_THAT(st.problem->detail, HasSubstr("unexpected shape"));
}

// An order left ready upstream that the guest never finalizes: at its expiry it turns invalid
// saying so (no thread drives it any more: only the issuer's own check can), its TXT value is
// long gone, and a day after expiry a finished order leaves orders.json.
TEST_F(UpstreamIssuerTest, AReadyOrderTheGuestNeverFinalizesExpiresAndLeavesNoTxt) {
  expiring_ = true;
  auto issuer = UpstreamIssuer::open(config(), records_);
  ASSERT_TRUE(issuer.ok()) << issuer.error().describe();
  auto handle = (*issuer)->start_order({"web.team.seed.test"});
  ASSERT_TRUE(handle.ok()) << handle.error().describe();
  ASSERT_TRUE(eventually([&] { return (*issuer)->state(*handle).status == "ready"; }));
  EXPECT_EQ(records_.published, 1);
  EXPECT_TRUE(records_.live_txt().empty());
  IssueState st;
  EXPECT_TRUE(eventually([&] { return (st = (*issuer)->state(*handle)).status == "invalid"; }));
  ASSERT_TRUE(st.problem.has_value());
  EXPECT_THAT(st.problem->detail, HasSubstr("expired"));
  EXPECT_THAT(st.problem->detail, HasSubstr("create a new order"));
  EXPECT_TRUE(records_.live_txt().empty());
  auto file = read_file(config().state_dir + "/orders.json");
  ASSERT_TRUE(file.ok());
  EXPECT_THAT(*file, HasSubstr("\"status\":\"invalid\""));
}

TEST_F(UpstreamIssuerTest, FinishedOrdersLeaveOrdersJsonADayAfterTheyExpired) {
  const std::string dir = config().state_dir;
  std::filesystem::create_directories(dir);
  // One finished long ago, one ready but expired (a seedd that was down meanwhile), one live.
  nlohmann::json orders{
      {"old", {{"id", "old"}, {"names", {"a.seed.test"}}, {"status", "valid"}, {"expires", 946684800}}},
      {"idle", {{"id", "idle"}, {"names", {"b.seed.test"}}, {"status", "ready"}, {"expires", 946684800},
                {"url", base_ + "/o/2"}, {"txt", nlohmann::json::array({nlohmann::json::array({"_acme-challenge.b.seed.test", "v"})})}}},
      {"live", {{"id", "live"}, {"names", {"c.seed.test"}}, {"status", "valid"},
                {"expires", now_unix_us() / 1000000 + 86400}}}};
  ASSERT_TRUE(write_file_atomic(dir + "/orders.json", orders.dump(), 0600));
  auto issuer = UpstreamIssuer::open(config(), records_);
  ASSERT_TRUE(issuer.ok()) << issuer.error().describe();
  EXPECT_EQ((*issuer)->state("live").status, "valid");
  IssueState idle = (*issuer)->state("idle");
  EXPECT_EQ(idle.status, "invalid");
  ASSERT_TRUE(idle.problem.has_value());
  EXPECT_THAT(idle.problem->detail, HasSubstr("expired at 2000-01-01"));
  auto file = read_file(dir + "/orders.json");
  ASSERT_TRUE(file.ok());
  EXPECT_THAT(*file, ::testing::Not(HasSubstr("\"old\"")));
  EXPECT_THAT(*file, HasSubstr("\"live\""));
  EXPECT_THAT(*file, ::testing::Not(HasSubstr("_acme-challenge")));
}

}  // namespace
}  // namespace seed::api::acme
