// HTTPS for seedd's own names as seedd wires it: start_api with the public listener, a real
// ingress on loopback (http and tls ports) routing silo.<domain> and hooks.<domain> by Host
// and by SNI to the in-process local backends, and real clients: curl with the internal CA's
// root, git clone over smart HTTPS with GIT_SSL_CAINFO, a GitHub-style signed webhook
// delivery (signature by `openssl dgst -hmac`), `openssl s_client -servername`. The engine
// behind the routes is sshcli's RecordingService: it cannot show an instance redeploying
// (tests/e2e/webhook_e2e_test.cpp does, over the same handover path), only that the delivery
// reached the service as a trigger.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include "api/testing/listen.hpp"
#include "api/testing/pebble.hpp"
#include "api/testing/tls_client.hpp"
#include "common/fd.hpp"
#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"
#include "net/dns/server.hpp"
#include "net/dns/zone_store.hpp"
#include "net/ingress/server.hpp"
#include "seedd/api_wiring.hpp"
#include "sshcli/testing/recording_service.hpp"

namespace seed {
namespace {

using ::testing::HasSubstr;
using api::testing::leaf_serial;
using api::testing::TlsClient;

const std::string kDomain = "seed.test";

RunResult must_run(std::vector<std::string> argv, std::vector<std::string> env = {}, const std::string& input = {}) {
  SpawnOptions o;
  o.argv = std::move(argv);
  o.env = std::move(env);
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.timeout = std::chrono::seconds(60);
  ro.input = input;
  auto r = run(std::move(o), ro);
  EXPECT_TRUE(r) << (r ? "" : r.error().describe());
  return r ? *r : RunResult{};
}

// A port free on loopback right now (the public listener binds it by number, as seedd does
// with api.public_port).
uint16_t free_port() {
  uint16_t port = 0;
  UniqueFd fd = api::testing::listen_loopback(&port);
  return port;
}

class PublicTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.path() + "/state";
    // One Silo repository, made with the git CLI.
    const std::string work = dir_.path() + "/work";
    must_run({"git", "init", "-q", "-b", "main", work});
    std::ofstream(work + "/README.md") << "# app\n";
    must_run({"git", "-C", work, "add", "-A"});
    must_run({"git", "-C", work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first"});
    must_run({"git", "clone", "-q", "--bare", work, state_ + "/silo/app.git"});

    net::ingress::ServerConfig ic;
    ic.listeners = {{"127.0.0.1", 0, 80, net::ingress::Protocol::http}, {"127.0.0.1", 0, 443, net::ingress::Protocol::tls}};
    auto ingress = net::ingress::Server::start(ic);
    ASSERT_TRUE(ingress) << ingress.error().describe();
    ingress_ = std::move(*ingress);
    http_port_ = ingress_->bound_port(0);
    https_port_ = ingress_->bound_port(1);
  }
  void start(std::chrono::seconds own_lifetime = std::chrono::seconds(0), api::HttpLimits limits = {},
             const std::function<void(ApiSettings&)>& tweak = {}, bool wait = true) {
    ApiSettings s;
    s.guest_address = "127.0.0.1";
    s.public_port = free_port();
    s.domain = kDomain;
    s.state_dir = state_;
    s.ingress = ingress_.get();
    s.limits = limits;
    s.own_certificate_lifetime = own_lifetime;
    if (tweak) tweak(s);
    auto api = start_api(s, service_);
    ASSERT_TRUE(api) << api.error().describe();
    api_ = std::move(*api);
    // What the engine publishes (EngineConfig::node_routes and node_tls_routes).
    net::ingress::DesiredRoutes routes;
    routes.ports[80] = public_routes(kDomain, api_->public_port);
    routes.ports[443] = public_tls_routes(kDomain, api_->public_port);
    ASSERT_TRUE(ingress_->set_routes(routes));
    if (root_.empty()) root_ = internal_ca_dir(state_) + "/ca.pem";
    if (wait) {
      ASSERT_TRUE(wait_for_certificate());
    }
  }
  // Bounded wait for the first certificate (the internal CA signs at once, pebble within
  // seconds; the bound only keeps a broken keeper from hanging the suite).
  bool wait_for_certificate() {
    for (int i = 0; i < 2400; ++i) {
      if (api_->own_certificate->current()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  std::string curl(const std::string& url, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20", "--noproxy", "*", "--cacert", root_,
                                     "--resolve", "silo.seed.test:" + std::to_string(https_port_) + ":127.0.0.1",
                                     "--resolve", "hooks.seed.test:" + std::to_string(https_port_) + ":127.0.0.1",
                                     "--resolve", "silo.seed.test:" + std::to_string(http_port_) + ":127.0.0.1",
                                     "-w", "\nstatus=%{http_code}"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url);
    auto r = must_run(argv);
    return r.out + r.err;
  }
  // The serial of the leaf `openssl s_client -servername name` is handed on the https port.
  std::string served_serial(const std::string& name) {
    auto r = must_run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(https_port_), "-servername",
                       name, "-CAfile", root_, "-verify_hostname", name, "-verify_return_error"},
                      {}, "");
    auto x = must_run({"openssl", "x509", "-noout", "-serial"}, {}, r.out);
    EXPECT_THAT(r.out, HasSubstr("Verify return code: 0 (ok)")) << r.out << r.err;
    const auto eq = x.out.find('=');
    return eq == std::string::npos ? "" : api::testing::serial_digits(x.out.substr(eq + 1));
  }
  std::string https(const std::string& host) { return "https://" + host + ":" + std::to_string(https_port_); }

  seed::testing::TempDir dir_;
  std::string state_, root_;
  sshcli::testing::RecordingService service_;
  std::unique_ptr<net::ingress::Server> ingress_;
  uint16_t http_port_ = 0, https_port_ = 0;
  std::unique_ptr<Api> api_;
  void TearDown() override {
    api_.reset();
    ingress_.reset();
  }
};

TEST_F(PublicTlsTest, SiloGitAndWebhooksAnswerOverHttpsThroughTheIngressAndPlainHttpStays) {
  ASSERT_NO_FATAL_FAILURE(start());
  // The web view over https, verified against the root `seedctl ca` prints.
  const std::string page = curl(https("silo.seed.test") + "/");
  EXPECT_THAT(page, HasSubstr("app"));
  EXPECT_THAT(page, HasSubstr("status=200"));
  // Plain HTTP serves the same routes on the http port.
  const std::string plain = curl("http://silo.seed.test:" + std::to_string(http_port_) + "/");
  EXPECT_THAT(plain, HasSubstr("status=200"));
  // Both names carry the one certificate, the one stored on disk.
  const std::string stored = leaf_serial(*read_file(api_->own_certificate->cert_path()));
  EXPECT_EQ(served_serial("silo.seed.test"), stored);
  EXPECT_EQ(served_serial("hooks.seed.test"), stored);

  // git clone over smart HTTPS, trusting the root through GIT_SSL_CAINFO.
  const std::string clone = dir_.path() + "/clone";
  auto cloned = must_run({"git", "-c", "http.curloptResolve=silo.seed.test:" + std::to_string(https_port_) + ":127.0.0.1",
                          "clone", "-q", https("silo.seed.test") + "/app.git", clone},
                         {"GIT_SSL_CAINFO=" + root_, "HOME=" + dir_.path(), "PATH=/usr/bin:/bin"});
  EXPECT_TRUE(cloned.status.success()) << cloned.err;
  EXPECT_EQ(must_run({"git", "-C", clone, "rev-parse", "HEAD"}).out,
            must_run({"git", "--git-dir=" + state_ + "/silo/app.git", "rev-parse", "main"}).out);

  // A signed GitHub push to hooks.<domain> over https reaches the service as a trigger.
  const std::string body = R"({"ref":"refs/heads/main","repository":{"default_branch":"main"}})";
  const std::string body_file = dir_.path() + "/push.json";
  std::ofstream(body_file) << body;
  auto dgst = must_run({"openssl", "dgst", "-sha256", "-hmac", "secret-1", body_file});
  std::string sig = dgst.out.substr(dgst.out.rfind("= ") + 2);
  sig.erase(sig.find_last_not_of("\r\n") + 1);
  const std::string delivered =
      curl(https("hooks.seed.test") + "/webhook/hook-1",
           {"-H", "X-GitHub-Event: push", "-H", "X-GitHub-Delivery: d-1", "-H", "Content-Type: application/json", "-H",
            "X-Hub-Signature-256: sha256=" + sig, "--data-binary", "@" + body_file});
  EXPECT_THAT(delivered, HasSubstr("status=202"));
  EXPECT_EQ(service_.count("trigger_webhook hook-1"), 1u);
}

TEST_F(PublicTlsTest, PerSourceLimitsSeeTheClientsOwnAddressOverHttps) {
  api::HttpLimits limits;
  limits.requests_per_second = 0.01;
  limits.burst = 2;
  ASSERT_NO_FATAL_FAILURE(start(std::chrono::seconds(0), limits));
  auto statuses = [&](const std::string& from) {
    std::string out;
    for (int i = 0; i < 3; ++i) {
      TlsClient c(root_, "silo.seed.test", https_port_, from);
      out += std::to_string(c.get("/").status) + " ";
    }
    return out;
  };
  // Were the ingress's own address seen, the second source would be refused too.
  EXPECT_EQ(statuses("127.0.0.2"), "200 200 429 ");
  EXPECT_EQ(statuses("127.0.0.3"), "200 200 429 ");
}

TEST_F(PublicTlsTest, ARenewedCertificateIsServedWithoutARestartAndAnOpenConnectionFinishes) {
  // 36 s: the internal CA backdates by 60 s, so renewal (at 2/3 of 96 s) comes 4 s after issue.
  ASSERT_NO_FATAL_FAILURE(start(std::chrono::seconds(36)));
  const auto first = *api_->own_certificate->current();
  TlsClient open(root_, "silo.seed.test", https_port_);
  auto before = open.get("/");
  ASSERT_EQ(before.result, CURLE_OK) << curl_easy_strerror(before.result);
  EXPECT_EQ(before.status, 200);
  const std::string first_serial = before.serial;
  EXPECT_EQ(served_serial("silo.seed.test"), first_serial);

  for (int i = 0; i < 600 && api_->own_certificate->current()->not_before == first.not_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto renewed = *api_->own_certificate->current();
  ASSERT_GT(renewed.not_before, first.not_before);
  // The connection opened before the swap goes on, on the certificate it started with.
  auto kept = open.get("/");
  ASSERT_EQ(kept.result, CURLE_OK) << curl_easy_strerror(kept.result);
  EXPECT_EQ(kept.status, 200);
  EXPECT_EQ(kept.new_connections, 0);
  // New handshakes get the renewed one: the one now on disk.
  const std::string now_served = served_serial("silo.seed.test");
  EXPECT_NE(now_served, first_serial);
  EXPECT_EQ(now_served, leaf_serial(*read_file(api_->own_certificate->cert_path())));
}

// ACME mode: seedd's own names from real pebble, DNS-01 answered by seedd's own DNS server
// (pebble asks it), the same path the guests' orders take; served over https and verified
// against pebble's root; no challenge TXT is left behind.
TEST_F(PublicTlsTest, AcmeModeGetsItsOwnCertificateFromTheUpstreamCaThroughDns01) {
  api::testing::Pebble pebble;
  const uint16_t dns_port = api::testing::free_tcp_port();
  api::testing::PebbleOptions po;
  po.dns_server = "127.0.0.1:" + std::to_string(dns_port);
  ASSERT_EQ(pebble.start(dir_.path(), po), "");
  root_ = dir_.path() + "/pebble-root.pem";
  ASSERT_TRUE(pebble.save_root(root_));
  net::dns::ZoneConfig zc;
  zc.domain = kDomain;
  zc.nameservers = {{"ns1." + kDomain, "127.0.0.1", ""}};
  auto zone = net::dns::ZoneStore::create(zc);
  ASSERT_TRUE(zone) << zone.error().describe();
  net::dns::ServerConfig dc;
  dc.public_listen = {"127.0.0.1:" + std::to_string(dns_port)};
  auto dns = net::dns::Server::start(dc, **zone);
  ASSERT_TRUE(dns) << dns.error().describe();

  ASSERT_NO_FATAL_FAILURE(start(std::chrono::seconds(0), {}, [&](ApiSettings& s) {
    s.acme.upstream = "acme";
    s.acme.directory = pebble.base + "/dir";
    s.acme.ca_file = pebble.ca_file;
    s.zone = zone->get();
  }));
  const std::string page = curl(https("silo.seed.test") + "/");
  EXPECT_THAT(page, HasSubstr("status=200"));
  EXPECT_EQ(served_serial("hooks.seed.test"), leaf_serial(*read_file(api_->own_certificate->cert_path())));
  for (const char* name : {"silo.seed.test", "hooks.seed.test"}) {
    auto txt = must_run({"kdig", "@127.0.0.1", "-p", std::to_string(dns_port), "+short", "TXT",
                         std::string("_acme-challenge.") + name});
    EXPECT_EQ(txt.out, "") << name;
  }
  api_.reset();  // before the zone and DNS server it publishes into
}

// No certificate (ACME mode, the CA unreachable: nothing listens at its directory): seedd
// starts, plain HTTP serves its names, HTTPS handshakes fail, and nothing is stored.
TEST_F(PublicTlsTest, WithoutACertificatePlainHttpServesAndHttpsHandshakesFail) {
  net::dns::ZoneConfig zc;
  zc.domain = kDomain;
  zc.nameservers = {{"ns1." + kDomain, "127.0.0.1", ""}};
  auto zone = net::dns::ZoneStore::create(zc);
  ASSERT_TRUE(zone) << zone.error().describe();
  root_ = "/etc/ssl/certs/ca-certificates.crt";
  ASSERT_NO_FATAL_FAILURE(start(std::chrono::seconds(0), {}, [&](ApiSettings& s) {
    s.acme.upstream = "acme";
    s.acme.directory = "https://127.0.0.1:" + std::to_string(api::testing::free_tcp_port()) + "/dir";
    s.zone = zone->get();
  }, /*wait=*/false));
  EXPECT_THAT(curl("http://silo.seed.test:" + std::to_string(http_port_) + "/"), HasSubstr("status=200"));
  const std::string refused = curl(https("silo.seed.test") + "/");
  EXPECT_THAT(refused, HasSubstr("status=000"));
  EXPECT_THAT(refused, HasSubstr("curl: (35)"));  // the TLS handshake, not the connection
  EXPECT_FALSE(api_->own_certificate->current());
  EXPECT_FALSE(read_file(api_->own_certificate->cert_path()));
  api_.reset();  // before the zone it would publish into
}

}  // namespace
}  // namespace seed
