// Push-to-deploy through the whole public path, with real components only: a test flake planted
// from a git+file:// repository (a non-Silo source, so it has a webhook), seedd's API started by
// start_api as seedd starts it (public listener on the namespace's loopback, registered with the
// engine's ingress as its local backends), the ingress routing hooks.<domain> to it by Host on
// the http port and by SNI on the https port, and curl posting a GitHub-style push whose
// X-Hub-Signature-256 is computed by `openssl dgst -sha256 -hmac`. The signed push, over HTTPS
// verified against seedd's root (the TLS side has no socket of its own: only the ingress's
// handover reaches it), redeploys the instance (its generation changes); a wrong or missing
// signature, an unknown hook, an oversized body (over plain HTTP) and a replayed delivery are
// each refused and trigger nothing (the engine's seed_source_triggers_total{reason="webhook"}
// and the source's fetched_because stay put).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/metrics.hpp"
#include "common/process.hpp"
#include "seedd/api_wiring.hpp"
#include "tests/e2e/engine_fixture.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kGateway = "10.77.0.1";  // the fixture's bridge address
constexpr uint16_t kPublicPort = 9878;      // seedd's default, inside the test's own namespace

// `openssl dgst -sha256 -hmac SECRET FILE` → the hex digest, as a forge's documentation says
// to compute it.
std::string openssl_hmac(const std::string& secret, const std::string& file) {
  SpawnOptions o;
  o.argv = {"openssl", "dgst", "-sha256", "-hmac", secret, file};
  o.stdout_mode = Output::capture;
  auto r = run(o, RunOptions{});
  EXPECT_TRUE(r && r->status.success()) << (r ? r->err : r.error().message);
  if (!r) return "";
  const auto eq = r->out.rfind("= ");
  std::string hex = eq == std::string::npos ? "" : r->out.substr(eq + 2);
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  return hex;
}

class WebhookE2eTest : public EngineTest {
 protected:
  struct Reply {
    std::string code;  // HTTP status as curl reports it
    std::string body;
  };
  // POSTs `body_file` to `url` through the ingress (the namespace's 127.0.0.1:8000 and :8443
  // are the node's ports 80 and 443): curl resolves the URL's host to them, so the printed URL
  // is used unchanged; https is verified against seedd's root (`seedctl ca`).
  Reply post(const std::string& url, const std::string& body_file, const std::vector<std::string>& headers) {
    const std::string out = root() + "/reply.txt";
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20", "--noproxy", "*", "--connect-to",
                                     "hooks.seed.test:80:127.0.0.1:8000", "--connect-to",
                                     "hooks.seed.test:443:127.0.0.1:8443", "--cacert",
                                     internal_ca_dir(root() + "/state") + "/ca.pem", "-o", out, "-w", "%{http_code}",
                                     "-H", "Content-Type: application/json", "--data-binary", "@" + body_file};
    for (const auto& h : headers) argv.insert(argv.end(), {"-H", h});
    argv.push_back(url);
    Reply r;
    try {
      r.code = netns_->exec(argv);
    } catch (const std::exception& e) {
      r.code = std::string("curl failed: ") + e.what();
    }
    std::ifstream in(out);
    r.body.assign(std::istreambuf_iterator<char>(in), {});
    return r;
  }
  std::string write_file(const std::string& name, const std::string& content) {
    const std::string path = root() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string fetched_because(const std::string& uri) {
    return in_ns([&] {
      auto s = engine_->status(uri);
      return s && s->size() == 1 ? (*s)[0].record.fetched_because : std::string("no status");
    });
  }
  std::unique_ptr<Api> api_;
  void TearDown() override {
    api_.reset();
    EngineTest::TearDown();
  }
};

TEST_F(WebhookE2eTest, SignedGithubPushThroughTheIngressRedeploysAndBadDeliveriesTriggerNothing) {
  config_.node_routes = public_routes("seed.test", kPublicPort);
  config_.node_tls_routes = public_tls_routes("seed.test", kPublicPort);
  open_engine();
  const std::string uri = write_flake(web_flake(""));
  in_ns([&] {
    auto planted = engine_->plant(uri, "test", nullptr);
    ASSERT_TRUE(planted) << planted.error().describe();
    ApiSettings s;
    s.guest_address = kGateway;
    s.public_port = kPublicPort;
    s.domain = "seed.test";
    s.state_dir = root() + "/state";
    s.ingress = ingress_.get();  // the handover seedd uses, not the ingress's TCP fallback
    auto api = start_api(s, *engine_);
    ASSERT_TRUE(api) << api.error().describe();
    api_ = std::move(*api);
  });
  ASSERT_TRUE(api_);
  ASSERT_EQ(api_->public_port, kPublicPort);
  const std::string gen1 = in_ns([&] { return instance(uri, "web"); }).generation;
  ASSERT_FALSE(gen1.empty());
  auto hook = engine_->webhook(uri, false);
  ASSERT_TRUE(hook) << hook.error().describe();
  // What `ssh <node> webhook <repo>` prints.
  const std::string url = webhook_base_url("seed.test", false) + "/webhook/" + hook->hook;
  EXPECT_THAT(url, StartsWith("http://hooks.seed.test/webhook/"));

  auto& triggers = metrics::global().counter("seed_source_triggers_total", "", {{"reason", "webhook"}});
  auto deliveries = [](const char* outcome) {
    return metrics::global().counter("seed_webhook_deliveries_total", "", {{"forge", "github"}, {"outcome", outcome}}).value();
  };
  const double triggers_before = triggers.value();
  const double refused_before = deliveries("unauthenticated");
  const std::string fetched_before = fetched_because(uri);

  const std::string push = write_file("push.json",
      R"({"ref":"refs/heads/main","before":"0000","after":"1111","repository":{"full_name":"alice/app","default_branch":"main"}})");
  const std::string good_sig = "X-Hub-Signature-256: sha256=" + openssl_hmac(hook->secret, push);
  const std::vector<std::string> event = {"X-GitHub-Event: push", "X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), event.begin(), event.end());
    return extra;
  };

  // Refused, each with nothing triggered: a signature made with another secret, none at all,
  // a hook that does not exist (answered exactly like a wrong signature), a body over the cap.
  Reply wrong = post(url, push, with({"X-Hub-Signature-256: sha256=" + openssl_hmac("not-the-secret", push)}));
  EXPECT_EQ(wrong.code, "401") << wrong.body;
  Reply missing = post(url, push, event);
  EXPECT_EQ(missing.code, "401") << missing.body;
  Reply unknown = post(webhook_base_url("seed.test", false) + "/webhook/no-such-hook", push, with({good_sig}));
  EXPECT_EQ(unknown.code, "401") << unknown.body;
  EXPECT_EQ(unknown.body, wrong.body) << "an unknown hook must not be told apart from a wrong signature";
  const std::string big = write_file("big.json", R"({"ref":"refs/heads/main","pad":")" + std::string(70 * 1024, 'x') + "\"}");
  Reply oversized = post(url, big, with({"X-Hub-Signature-256: sha256=" + openssl_hmac(hook->secret, big)}));
  EXPECT_EQ(oversized.code, "413") << oversized.body;
  EXPECT_EQ(triggers.value(), triggers_before);
  EXPECT_EQ(deliveries("unauthenticated"), refused_before + 3);
  EXPECT_EQ(fetched_because(uri), fetched_before);

  // A new commit, then the real delivery over HTTPS: accepted, triggered once, and the instance
  // redeploys. seedd's own certificate comes from its internal CA at once (bounded wait).
  for (int i = 0; i < 200 && !api_->own_certificate->current(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string https_url = "https://hooks.seed.test/webhook/" + hook->hook;
  write_flake(web_flake("", "seed.debug=0"));
  Reply ok = post(https_url, push, with({good_sig}));
  EXPECT_EQ(ok.code, "202") << ok.body;
  EXPECT_THAT(ok.body, HasSubstr("triggered"));
  EXPECT_EQ(triggers.value(), triggers_before + 1);

  // The same delivery again (a replay, or the forge redelivering): acknowledged, not acted on.
  Reply replay = post(https_url, push, with({good_sig}));
  EXPECT_EQ(replay.code, "200") << replay.body;
  EXPECT_THAT(replay.body, HasSubstr("duplicate"));
  EXPECT_EQ(triggers.value(), triggers_before + 1);

  // The triggered deploy runs on the engine's worker: wait (bounded) for the new generation.
  reconcile::InstanceView web;
  for (int i = 0; i < 600; ++i) {
    web = in_ns([&] { return instance(uri, "web"); });
    if (web.generation != gen1 && web.state == reconcile::InstanceState::running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_NE(web.generation, gen1);
  EXPECT_EQ(web.state, reconcile::InstanceState::running);
  EXPECT_THAT(fetched_because(uri), StartsWith("webhook github push main 72d3162e"));
}

}  // namespace
}  // namespace seed::e2e
