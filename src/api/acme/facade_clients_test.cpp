// The ACME facade with real ACME clients: Debian's lego (what NixOS security.acme runs) and
// certbot obtain certificates from it over real HTTP, signed by the internal CA, and the
// result is checked with the openssl tool. The caller lookup here maps loopback addresses to
// instances, standing in for the engine's bridge addresses; it cannot show that the engine's
// lookup is right (the e2e tests with guests on the bridge do that).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/acme/facade.hpp"
#include "api/testing/listen.hpp"
#include "api/testing/pebble.hpp"
#include "api/acme/internal_ca.hpp"
#include "api/http_server.hpp"
#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::api::acme {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using seed::api::testing::listen_on;
using seed::api::testing::run_tool;
using seed::api::testing::ToolRun;

class FacadeClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InternalCaConfig cc;
    cc.dir = dir_.path() + "/ca";
    cc.domain = "seed.test";
    auto ca = InternalCa::open(cc);
    ASSERT_TRUE(ca.ok()) << ca.error().describe();
    ca_ = std::move(*ca);
    uint16_t port = 0;
    UniqueFd socket = listen_on("127.0.0.1", &port);
    base_ = "http://127.0.0.1:" + std::to_string(port);
    // 127.0.0.1 is instance web of namespace team; 127.0.0.2 is api of team with ACME off;
    // 127.0.0.3 is db of namespace other.
    CallerLookup lookup = [](const std::string& source) -> Result<AcmeCaller> {
      if (source == "127.0.0.1") return AcmeCaller{"team/web", {"web.team.seed.test", "www.example.org"}, true};
      if (source == "127.0.0.2") return AcmeCaller{"team/api", {"api.team.seed.test"}, false};
      if (source == "127.0.0.3") return AcmeCaller{"other/db", {"db.other.seed.test"}, true};
      return make_error(Errc::not_found, "no instance");
    };
    auto facade = AcmeFacade::open({base_, dir_.path() + "/acme.json", "seed.test"}, lookup, *ca_);
    ASSERT_TRUE(facade.ok()) << facade.error().describe();
    facade_ = std::move(*facade);
    Router routes;
    facade_->add_routes(routes);
    std::vector<Listener> listeners;
    listeners.push_back({"guest", std::move(socket), std::move(routes)});
    auto server = HttpServer::start(std::move(listeners), HttpLimits{});
    ASSERT_TRUE(server.ok()) << server.error().describe();
    server_ = std::move(*server);
  }
  void expect_verifies(const std::string& cert_file, const std::string& name) {
    ToolRun v = run_tool({"openssl", "verify", "-CAfile", dir_.path() + "/ca/ca.pem", "-purpose", "sslserver", cert_file});
    EXPECT_THAT(v.output, HasSubstr(": OK")) << v.output;
    ToolRun text = run_tool({"openssl", "x509", "-in", cert_file, "-noout", "-ext", "subjectAltName"});
    EXPECT_THAT(text.output, HasSubstr("DNS:" + name)) << text.output;
  }

  seed::testing::TempDir dir_;
  std::unique_ptr<InternalCa> ca_;
  std::unique_ptr<AcmeFacade> facade_;
  std::unique_ptr<HttpServer> server_;
  std::string base_;
};

TEST_F(FacadeClientsTest, LegoGetsACertificateForItsOwnNameWithItsOwnKey) {
  const std::string out = dir_.path() + "/lego";
  ToolRun r = run_tool({"lego", "--server", base_ + "/acme/directory", "--email", "ops@example.org", "--accept-tos",
                    "--key-type", "ec256", "--domains", "web.team.seed.test", "--http", "--http.port",
                    "127.0.0.1:0", "--path", out, "run"});
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string cert = out + "/certificates/web.team.seed.test.crt";
  expect_verifies(cert, "web.team.seed.test");
  // The key in the certificate is the one lego made and kept.
  ToolRun cert_pub = run_tool({"openssl", "x509", "-in", cert, "-noout", "-pubkey"});
  ToolRun key_pub = run_tool({"openssl", "pkey", "-in", out + "/certificates/web.team.seed.test.key", "-pubout"});
  EXPECT_EQ(cert_pub.output, key_pub.output);
  // A second run with the same account key is the same account (200 on newAccount) and renews.
  ToolRun again = run_tool({"lego", "--server", base_ + "/acme/directory", "--email", "ops@example.org", "--accept-tos",
                        "--key-type", "ec256", "--domains", "web.team.seed.test", "--http", "--http.port",
                        "127.0.0.1:0", "--path", out, "renew", "--days", "9999", "--no-random-sleep"});
  EXPECT_EQ(again.code, 0) << again.output;
  // Revocation by the account that holds the certificate (revokeCert, the leaf's DER).
  ToolRun revoke = run_tool({"lego", "--server", base_ + "/acme/directory", "--email", "ops@example.org", "--accept-tos",
                         "--domains", "web.team.seed.test", "--path", out, "revoke"});
  EXPECT_EQ(revoke.code, 0) << revoke.output;
}

TEST_F(FacadeClientsTest, LegoIsRefusedANameThatIsNotItsInstancesSayingWhichItMayOrder) {
  ToolRun r = run_tool({"lego", "--server", base_ + "/acme/directory", "--email", "ops@example.org", "--accept-tos",
                    "--domains", "db.other.seed.test", "--http", "--http.port", "127.0.0.1:0", "--path",
                    dir_.path() + "/lego", "run"});
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("rejectedIdentifier"));
  EXPECT_THAT(r.output, HasSubstr("db.other.seed.test is not a name of this instance"));
  ToolRun wildcard = run_tool({"lego", "--server", base_ + "/acme/directory", "--email", "ops@example.org", "--accept-tos",
                           "--domains", "*.team.seed.test", "--dns", "exec", "--path", dir_.path() + "/lego2", "run"},
                          {"EXEC_PATH=/bin/true"});
  EXPECT_NE(wildcard.code, 0);
  EXPECT_THAT(wildcard.output, HasSubstr("wildcard"));
}

TEST_F(FacadeClientsTest, CertbotGetsACertificate) {
  const std::string d = dir_.path() + "/certbot";
  ToolRun r = run_tool({"certbot", "certonly", "--non-interactive", "--agree-tos", "--register-unsafely-without-email",
                    "--server", base_ + "/acme/directory", "--config-dir", d + "/config", "--work-dir", d + "/work",
                    "--logs-dir", d + "/logs", "--key-type", "ecdsa", "--manual", "--preferred-challenges", "dns",
                    "--manual-auth-hook", "/bin/true", "-d", "web.team.seed.test"});
  ASSERT_EQ(r.code, 0) << r.output;
  expect_verifies(d + "/config/live/web.team.seed.test/cert.pem", "web.team.seed.test");
}

}  // namespace
}  // namespace seed::api::acme
