// newOrder's identifiers and finalize's CSR payload, decoded on their own (the facade's routes
// add only the account and the order around them; api-acme-clients covers those with lego and
// certbot).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/acme/base64url.hpp"
#include "api/acme/order_request.hpp"

namespace seed::api::acme {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using json = nlohmann::json;

const std::vector<std::string> kOwn{"web.team.seed.test", "www.example.org"};

std::string refusal(const json& payload, const std::string& zone = "seed.test") {
  auto r = order_names(payload, kOwn, zone);
  if (r.ok()) return "accepted";
  return std::string(r.error().get("acme_type").value_or("?")) + ": " + r.error().message;
}

json identifiers(json list) { return json{{"identifiers", std::move(list)}}; }

TEST(OrderNames, OwnNamesAreLowerCasedSortedAndDeduplicated) {
  auto r = order_names(identifiers({{{"type", "dns"}, {"value", "WEB.team.seed.test"}},
                                    {{"type", "dns"}, {"value", "web.team.seed.test"}}}),
                       kOwn, "seed.test");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_THAT(*r, ElementsAre("web.team.seed.test"));
}

TEST(OrderNames, EachRefusalSaysWhy) {
  EXPECT_THAT(refusal(json::object()), HasSubstr("malformed: newOrder needs \"identifiers\""));
  EXPECT_THAT(refusal(identifiers(json::array())), HasSubstr("malformed"));
  EXPECT_THAT(refusal(identifiers({{{"type", "ip"}, {"value", "10.0.0.1"}}})), HasSubstr("rejectedIdentifier: only identifiers of type \"dns\""));
  EXPECT_THAT(refusal(identifiers({{{"type", "dns"}, {"value", "*.team.seed.test"}}})), HasSubstr("wildcard"));
  EXPECT_THAT(refusal(identifiers({{{"type", "dns"}, {"value", "db.other.seed.test"}}})),
              HasSubstr("db.other.seed.test is not a name of this instance; it may order: web.team.seed.test, www.example.org"));
  EXPECT_THAT(refusal(identifiers({{{"type", "dns"}, {"value", "www.example.org"}}})), HasSubstr("outside this node's zone"));
  EXPECT_EQ(refusal(identifiers({{{"type", "dns"}, {"value", "www.example.org"}}}), ""), "accepted");
}

// Members of the wrong JSON type are refusals naming the identifier, never a JSON exception
// (the facade turned those into a generic "member of the wrong type").
TEST(OrderNames, MembersOfTheWrongTypeAreRefusedNamingTheIdentifier) {
  EXPECT_THAT(refusal(identifiers({{{"type", 5}, {"value", "web.team.seed.test"}}})),
              HasSubstr("rejectedIdentifier: only identifiers of type \"dns\" are issued here: {\"type\":5"));
  EXPECT_THAT(refusal(identifiers({{{"type", "dns"}, {"value", json::array()}}})), HasSubstr("rejectedIdentifier"));
  EXPECT_THAT(refusal(identifiers({"web.team.seed.test"})), HasSubstr("rejectedIdentifier"));
  EXPECT_THAT(refusal(json{{"identifiers", "web.team.seed.test"}}), HasSubstr("malformed"));
}

TEST(FinalizeCsr, NeedsABase64urlCsrString) {
  auto kind = [](const json& payload) {
    auto r = finalize_csr(payload);
    return r.ok() ? std::string("ok") : std::string(r.error().get("acme_type").value_or("?"));
  };
  EXPECT_EQ(kind(json::object()), "malformed");
  EXPECT_EQ(kind(json{{"csr", 42}}), "malformed");
  EXPECT_EQ(kind(json{{"csr", "not base64url!"}}), "badCSR");
  EXPECT_EQ(kind(json{{"csr", base64url_encode("not DER")}}), "badCSR");
}

}  // namespace
}  // namespace seed::api::acme
