// keyChange (RFC 8555 §7.3.5) through the facade's routes, with requests signed by seedd's own
// JWS code (AccountKey): neither lego 4.9 nor certbot 2.1 can roll an account key over. The
// requests go to the Router directly, not over HTTP: the transport is the same for every route
// and api-acme-clients covers it with real clients.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/acme/account_key.hpp"
#include "api/acme/facade.hpp"
#include "api/acme/internal_ca.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::api::acme {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kBase = "http://10.100.0.1:8555";

std::string header(const Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

class KeyChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InternalCaConfig cc;
    cc.dir = dir_.path() + "/ca";
    cc.domain = "seed.test";
    auto ca = InternalCa::open(cc);
    ASSERT_TRUE(ca.ok()) << ca.error().describe();
    ca_ = std::move(*ca);
    CallerLookup lookup = [](const std::string& source) -> Result<AcmeCaller> {
      if (source == "10.100.0.2") return AcmeCaller{"team/web", {"web.team.seed.test"}, true};
      if (source == "10.100.0.3") return AcmeCaller{"other/db", {"db.other.seed.test"}, true};
      return make_error(Errc::not_found, "no instance");
    };
    auto facade = AcmeFacade::open({kBase, dir_.path() + "/acme.json", "seed.test"}, lookup, *ca_);
    ASSERT_TRUE(facade.ok()) << facade.error().describe();
    facade_ = std::move(*facade);
    facade_->add_routes(routes_);
  }

  std::unique_ptr<AccountKey> make_key(const std::string& name) {
    auto k = AccountKey::load_or_create(dir_.path() + "/" + name + ".pem");
    EXPECT_TRUE(k.ok()) << k.error().describe();
    return k.ok() ? std::move(*k) : nullptr;
  }

  std::string nonce() {
    Request r;
    r.method = "HEAD";
    r.path = "/acme/new-nonce";
    r.source = "10.100.0.2";
    return header(routes_.dispatch(r), "Replay-Nonce");
  }

  Response post(const std::string& path, const std::string& body, const std::string& source = "10.100.0.2") {
    Request r;
    r.method = "POST";
    r.path = path;
    r.headers["content-type"] = "application/jose+json";
    r.body = body;
    r.source = source;
    r.listener = "guest";
    return routes_.dispatch(r);
  }

  // A signed request: `kid` empty signs with the key's jwk.
  Response send(const AccountKey& key, const std::string& path, const std::string& kid,
                const std::optional<json>& payload, const std::string& source = "10.100.0.2") {
    auto body = key.sign(kBase + path, nonce(), kid, payload);
    EXPECT_TRUE(body.ok());
    return post(path, body.ok() ? *body : "", source);
  }

  // The account URL (Location) of a new account for `key`.
  std::string new_account(const AccountKey& key, const std::string& source = "10.100.0.2") {
    Response r = send(key, "/acme/new-account", "", json{{"termsOfServiceAgreed", true}}, source);
    EXPECT_EQ(r.status, 201) << r.body;
    return header(r, "Location");
  }

  // keyChange from `old_key` (account `kid`) to `new_key`; the inner payload and url are as
  // RFC 8555 wants them unless overridden.
  Response key_change(const AccountKey& old_key, const std::string& kid, const AccountKey& new_key,
                      std::optional<json> inner_payload = std::nullopt, std::string inner_url = "") {
    if (inner_url.empty()) inner_url = kBase + "/acme/key-change";
    if (!inner_payload) inner_payload = json{{"account", kid}, {"oldKey", old_key.jwk()}};
    auto inner = new_key.sign(inner_url, "", "", *inner_payload);
    EXPECT_TRUE(inner.ok());
    return send(old_key, "/acme/key-change", kid, json::parse(*inner));
  }

  // The account as its key sees it (POST-as-GET).
  Response fetch_account(const AccountKey& key, const std::string& kid) {
    return send(key, kid.substr(kBase.size()), kid, std::nullopt);
  }

  seed::testing::TempDir dir_;
  std::unique_ptr<InternalCa> ca_;
  std::unique_ptr<AcmeFacade> facade_;
  Router routes_;
};

TEST_F(KeyChangeTest, AfterARolloverOnlyTheNewKeySignsForTheAccount) {
  auto old_key = make_key("old"), new_key = make_key("new");
  const std::string kid = new_account(*old_key);
  ASSERT_THAT(kid, HasSubstr("/acme/acct/"));

  Response changed = key_change(*old_key, kid, *new_key);
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(json::parse(changed.body)["status"], "valid");

  Response by_new = fetch_account(*new_key, kid);
  EXPECT_EQ(by_new.status, 200) << by_new.body;
  Response by_old = fetch_account(*old_key, kid);
  EXPECT_EQ(by_old.status, 400) << by_old.body;
  EXPECT_THAT(by_old.body, HasSubstr("does not verify"));
  // The new key finds the account; the old key is no account's any more.
  Response found = send(*new_key, "/acme/new-account", "", json{{"onlyReturnExisting", true}});
  EXPECT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(header(found, "Location"), kid);
  Response lost = send(*old_key, "/acme/new-account", "", json{{"onlyReturnExisting", true}});
  EXPECT_THAT(lost.body, HasSubstr("accountDoesNotExist"));
  // And the new key orders with the account.
  Response order = send(*new_key, "/acme/new-order", kid,
                        json{{"identifiers", {{{"type", "dns"}, {"value", "web.team.seed.test"}}}}});
  EXPECT_EQ(order.status, 201) << order.body;
}

TEST_F(KeyChangeTest, TheRolloverSurvivesARestart) {
  auto old_key = make_key("old"), new_key = make_key("new");
  const std::string kid = new_account(*old_key);
  ASSERT_EQ(key_change(*old_key, kid, *new_key).status, 200);
  facade_.reset();
  routes_ = Router();
  auto facade = AcmeFacade::open({kBase, dir_.path() + "/acme.json", "seed.test"},
                                 [](const std::string&) -> Result<AcmeCaller> {
                                   return AcmeCaller{"team/web", {"web.team.seed.test"}, true};
                                 },
                                 *ca_);
  ASSERT_TRUE(facade.ok()) << facade.error().describe();
  facade_ = std::move(*facade);
  facade_->add_routes(routes_);
  EXPECT_EQ(fetch_account(*new_key, kid).status, 200);
  EXPECT_EQ(fetch_account(*old_key, kid).status, 400);
}

TEST_F(KeyChangeTest, ANewKeyAlreadyInUseIsAConflictNamingItsAccount) {
  auto a_key = make_key("a"), b_key = make_key("b");
  const std::string a = new_account(*a_key), b = new_account(*b_key);
  Response r = key_change(*a_key, a, *b_key);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(header(r, "Location"), b);
  EXPECT_EQ(fetch_account(*a_key, a).status, 200);  // nothing changed
}

TEST_F(KeyChangeTest, AnotherInstancesKeyIsAConflictThatDoesNotNameItsAccount) {
  auto mine = make_key("mine"), theirs = make_key("theirs");
  const std::string kid = new_account(*mine);
  new_account(*theirs, "10.100.0.3");
  Response r = key_change(*mine, kid, *theirs);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(header(r, "Location"), "");
  EXPECT_THAT(r.body, HasSubstr("another instance"));
}

TEST_F(KeyChangeTest, AnInnerUrlThatIsNotTheOuterOneIsRefused) {
  auto old_key = make_key("old"), new_key = make_key("new");
  const std::string kid = new_account(*old_key);
  Response r = key_change(*old_key, kid, *new_key, std::nullopt, kBase + "/acme/new-account");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("is not the outer JWS's url"));
  EXPECT_EQ(fetch_account(*old_key, kid).status, 200);
}

TEST_F(KeyChangeTest, AnInnerSignatureThatDoesNotVerifyIsRefused) {
  auto old_key = make_key("old"), new_key = make_key("new");
  const std::string kid = new_account(*old_key);
  // The inner JWS with the signature of another payload by the same key.
  const std::string url = kBase + "/acme/key-change";
  json inner = json::parse(*new_key->sign(url, "", "", json{{"account", kid}, {"oldKey", old_key->jwk()}}));
  inner["signature"] = json::parse(*new_key->sign(url, "", "", json{{"account", "other"}}))["signature"];
  Response r = send(*old_key, "/acme/key-change", kid, inner);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("inner JWS: the JWS signature does not verify"));
  EXPECT_EQ(fetch_account(*old_key, kid).status, 200);
  EXPECT_EQ(fetch_account(*new_key, kid).status, 400);
}

TEST_F(KeyChangeTest, AnOldKeyThatIsNotTheAccountsIsRefused) {
  auto old_key = make_key("old"), new_key = make_key("new"), stranger = make_key("stranger");
  const std::string kid = new_account(*old_key);
  Response r = key_change(*old_key, kid, *new_key, json{{"account", kid}, {"oldKey", stranger->jwk()}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_THAT(r.body, HasSubstr("oldKey is not the account's current key"));
  EXPECT_EQ(fetch_account(*old_key, kid).status, 200);
}

TEST_F(KeyChangeTest, AnInnerPayloadNamingAnotherAccountIsRefused) {
  auto a_key = make_key("a"), b_key = make_key("b"), new_key = make_key("new");
  const std::string a = new_account(*a_key), b = new_account(*b_key);
  Response r = key_change(*a_key, a, *new_key, json{{"account", b}, {"oldKey", a_key->jwk()}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_THAT(r.body, HasSubstr("names the account " + b));
  EXPECT_EQ(fetch_account(*b_key, b).status, 200);
}

TEST_F(KeyChangeTest, AnInnerJwsWithKidOrNoPayloadIsMalformed) {
  auto old_key = make_key("old"), new_key = make_key("new");
  const std::string kid = new_account(*old_key);
  json with_kid = json::parse(*new_key->sign(kBase + "/acme/key-change", "", kid, json{{"account", kid}}));
  Response r = send(*old_key, "/acme/key-change", kid, with_kid);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("must carry the new key as \\\"jwk\\\""));
  Response empty = send(*old_key, "/acme/key-change", kid, std::nullopt);
  EXPECT_EQ(empty.status, 400) << empty.body;
  EXPECT_THAT(empty.body, HasSubstr("keyChange needs the inner JWS"));
}

}  // namespace
}  // namespace seed::api::acme
