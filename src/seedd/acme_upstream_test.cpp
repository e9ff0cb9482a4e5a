// ACME mode end to end against a real upstream CA: Debian's pebble validates DNS-01 by asking
// seedd's real DNS server (`-dnsserver`), the facade and the upstream client are wired by
// seedd/api_wiring (make_issuer, zone_challenge_records) inside testing/acme_node, a process
// of its own so it can be killed with SIGKILL mid-order. Clients: Debian's lego, and for the
// kill tests seedd's own RFC 8555 client pointed at the facade (it stops exactly where the test
// needs it, between newOrder and finalize, which lego cannot be made to do). kdig reads the
// DNS server after every outcome: no _acme-challenge TXT may be left.
//
// What this cannot catch: the engine's caller lookup by bridge address (acme_node maps
// 127.0.0.1 to one instance; the acme-e2e test covers the lookup with guests on the bridge).
#include <openssl/pem.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/acme/testing_csr.hpp"
#include "api/acme/upstream_client.hpp"
#include "api/acme/base64url.hpp"
#include "api/testing/pebble.hpp"
#include "common/fd.hpp"
#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using api::testing::run_tool;
using api::testing::ToolRun;
namespace fs = std::filesystem;

const std::string kZone = "seed.test";
const std::string kName = "web.team.seed.test";

std::string acme_node_binary() {
  const char* dir = std::getenv("SEED_BUILD_DIR");
  return std::string(dir != nullptr ? dir : "build") + "/src/seedd/acme_node";
}

class AcmeUpstreamTest : public ::testing::Test {
 protected:
  void start_pebble(api::testing::PebbleOptions options) {
    dns_port_ = api::testing::free_tcp_port();
    api_port_ = api::testing::free_tcp_port();
    options.dns_server = "127.0.0.1:" + std::to_string(dns_port_);
    ASSERT_EQ(pebble_.start(dir_.path(), options), "");
    ASSERT_TRUE(pebble_.save_root(dir_.path() + "/pebble-root.pem"));
  }
  // Starts (or restarts, on the same state and ports) the process hosting DNS and the facade.
  void start_node(const std::string& names = kName + ",www.example.org") {
    SpawnOptions o;
    o.argv = {acme_node_binary(), dir_.path() + "/state", kZone, std::to_string(dns_port_), std::to_string(api_port_),
              pebble_.base + "/dir", pebble_.ca_file, names};
    o.stdout_mode = Output::file;
    o.stdout_file = dir_.path() + "/node.out";
    o.stderr_mode = Output::file;
    o.stderr_file = dir_.path() + "/node.log";
    o.kill_with_parent = true;
    auto child = spawn(o);
    ASSERT_TRUE(child.ok()) << child.error().describe();
    node_ = std::move(*child);
    for (int i = 0; i < 240 && node_.running(); ++i) {  // a node that exited is reported at once
      if (run_tool({"curl", "-sf", directory_url()}).code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    FAIL() << "acme_node never served its directory: " << run_tool({"cat", dir_.path() + "/node.log"}).output;
  }
  void kill_node() {
    ASSERT_TRUE(node_.signal(SIGKILL).ok());
    (void)node_.wait(std::nullopt);
    node_ = Child();
  }
  void TearDown() override {
    if (node_.pid() > 0) node_.terminate();
  }
  std::string directory_url() const { return "http://127.0.0.1:" + std::to_string(api_port_) + "/acme/directory"; }

  ToolRun lego(const std::string& name, const std::string& dir) {
    return run_tool({"lego", "--server", directory_url(), "--email", "ops@example.org", "--accept-tos", "--key-type",
                     "ec256", "--domains", name, "--http", "--http.port", "127.0.0.1:0", "--path", dir, "run"},
                    {}, std::chrono::seconds(300));
  }
  // The TXT records the DNS server serves for the name's challenge owner ("" when none).
  std::string challenge_txt(const std::string& name = kName) {
    ToolRun r = run_tool({"kdig", "@127.0.0.1", "-p", std::to_string(dns_port_), "+short", "TXT",
                          "_acme-challenge." + name});
    EXPECT_EQ(r.code, 0) << r.output;
    return r.output;
  }
  void expect_issued_by_pebble(const std::string& chain, const std::string& key) {
    const std::string root = dir_.path() + "/pebble-root.pem";
    ToolRun v = run_tool({"openssl", "verify", "-CAfile", root, "-untrusted", chain, "-purpose", "sslserver", chain});
    EXPECT_THAT(v.output, HasSubstr(": OK")) << v.output;
    ToolRun san = run_tool({"openssl", "x509", "-in", chain, "-noout", "-ext", "subjectAltName"});
    EXPECT_THAT(san.output, HasSubstr("DNS:" + kName)) << san.output;
    if (key.empty()) return;
    ToolRun cert_pub = run_tool({"openssl", "x509", "-in", chain, "-noout", "-pubkey"});
    ToolRun key_pub = run_tool({"openssl", "pkey", "-in", key, "-pubout"});
    EXPECT_EQ(cert_pub.output, key_pub.output);
    EXPECT_THAT(cert_pub.output, HasSubstr("PUBLIC KEY"));
  }

  void lego_gets_a_certificate_verified_against_pebbles_root() {
    const std::string out = dir_.path() + "/lego";
    ToolRun r = lego(kName, out);
    ASSERT_EQ(r.code, 0) << r.output << run_tool({"cat", dir_.path() + "/node.log"}).output;
    expect_issued_by_pebble(out + "/certificates/" + kName + ".crt", out + "/certificates/" + kName + ".key");
    EXPECT_EQ(challenge_txt(), "");
  }

  seed::testing::TempDir dir_;
  api::testing::Pebble pebble_;
  Child node_;
  uint16_t dns_port_ = 0, api_port_ = 0;
};

TEST_F(AcmeUpstreamTest, LegoThroughTheFacadeGetsPebblesCertificateWithItsOwnKeyAndNoTxtIsLeft) {
  ASSERT_NO_FATAL_FAILURE(start_pebble({}));
  ASSERT_NO_FATAL_FAILURE(start_node());
  ASSERT_NO_FATAL_FAILURE(lego_gets_a_certificate_verified_against_pebbles_root());
}

TEST_F(AcmeUpstreamTest, PebbleRefusingHalfTheNoncesStillIssues) {
  ASSERT_NO_FATAL_FAILURE(start_pebble({50, "", {}}));
  ASSERT_NO_FATAL_FAILURE(start_node());
  ASSERT_NO_FATAL_FAILURE(lego_gets_a_certificate_verified_against_pebbles_root());
}

TEST_F(AcmeUpstreamTest, AnUpstreamRefusalReachesTheClientWithTheCasProblem) {
  ASSERT_NO_FATAL_FAILURE(start_pebble({0, "", {kName}}));
  ASSERT_NO_FATAL_FAILURE(start_node());
  ToolRun r = lego(kName, dir_.path() + "/lego");
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("rejectedIdentifier")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("the upstream CA refused")) << r.output;
  EXPECT_EQ(challenge_txt(), "");
}

TEST_F(AcmeUpstreamTest, ANameOutsideTheZoneIsRefusedSayingSo) {
  ASSERT_NO_FATAL_FAILURE(start_pebble({}));
  ASSERT_NO_FATAL_FAILURE(start_node());
  ToolRun r = lego("www.example.org", dir_.path() + "/lego");
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("rejectedIdentifier"));
  EXPECT_THAT(r.output, HasSubstr("www.example.org is outside this node's zone seed.test")) << r.output;
}

// The guest's side with seedd's own RFC 8555 client, so the test decides when to kill.
class GuestClient {
 public:
  explicit GuestClient(const std::string& directory, const std::string& dir) {
    api::acme::UpstreamConfig c;
    c.directory_url = directory;
    c.state_dir = dir;
    auto client = api::acme::UpstreamClient::open(c);
    EXPECT_TRUE(client.ok()) << client.error().describe();
    if (client.ok()) client_ = std::move(*client);
  }
  bool ok() const { return client_ != nullptr; }
  // newOrder for `name`: the order's URL.
  std::string new_order(const std::string& name) {
    auto r = client_->post(client_->directory()["newOrder"],
                           nlohmann::json{{"identifiers", {{{"type", "dns"}, {"value", name}}}}});
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r.ok() ? r->header("location") : "";
  }
  nlohmann::json get(const std::string& url) {
    auto r = client_->post(url, std::nullopt);
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r.ok() ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  }
  std::string get_text(const std::string& url) {
    auto r = client_->post(url, std::nullopt);
    return r.ok() ? r->body : r.error().describe();
  }
  // Polls the order (bounded: 240 polls a quarter second apart) until its status is not `while_status`.
  nlohmann::json poll(const std::string& url, const std::string& while_status) {
    nlohmann::json o;
    for (int i = 0; i < 240; ++i) {
      o = get(url);
      if (!o.is_object() || o.value("status", "") != while_status) return o;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return o;
  }
  Result<api::acme::UpstreamReply> finalize(const std::string& url, const std::string& csr_der) {
    return client_->post(url, nlohmann::json{{"csr", api::acme::base64url_encode(csr_der)}});
  }

 private:
  std::unique_ptr<api::acme::UpstreamClient> client_;
};

class AcmeUpstreamKillTest : public AcmeUpstreamTest {
 protected:
  // Finalizes the order with a fresh key's CSR, polls it to valid and checks the chain.
  void finish(GuestClient& guest, const std::string& order_url) {
    nlohmann::json order = guest.poll(order_url, "pending");
    ASSERT_EQ(order.value("status", ""), "ready") << order.dump();
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    const std::string csr = api::acme::testing::make_csr(key, {"DNS:" + kName});
    auto finalized = guest.finalize(order["finalize"], csr);
    ASSERT_TRUE(finalized.ok()) << finalized.error().describe();
    order = guest.poll(order_url, "processing");
    ASSERT_EQ(order.value("status", ""), "valid") << order.dump();
    const std::string chain = dir_.path() + "/chain.pem", key_file = dir_.path() + "/key.pem";
    std::ofstream(chain) << guest.get_text(order["certificate"]);
    FILE* f = std::fopen(key_file.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    EVP_PKEY_free(key);
    expect_issued_by_pebble(chain, key_file);
  }
};

TEST_F(AcmeUpstreamKillTest, KilledRightAfterNewOrderTheOrderResumesAndNoTxtIsLeft) {
  ASSERT_NO_FATAL_FAILURE(start_pebble({}));
  ASSERT_NO_FATAL_FAILURE(start_node());
  GuestClient guest(directory_url(), dir_.path() + "/guest");
  ASSERT_TRUE(guest.ok());
  const std::string order_url = guest.new_order(kName);
  ASSERT_FALSE(order_url.empty());
  ASSERT_NO_FATAL_FAILURE(kill_node());  // the upstream order is under way (or about to be)
  ASSERT_NO_FATAL_FAILURE(start_node());
  ASSERT_NO_FATAL_FAILURE(finish(guest, order_url));
  EXPECT_EQ(challenge_txt(), "");
}

TEST_F(AcmeUpstreamKillTest, KilledWhenReadyTheClientsFinalizeAfterTheRestartFinishes) {
  ASSERT_NO_FATAL_FAILURE(start_pebble({}));
  ASSERT_NO_FATAL_FAILURE(start_node());
  GuestClient guest(directory_url(), dir_.path() + "/guest");
  ASSERT_TRUE(guest.ok());
  const std::string order_url = guest.new_order(kName);
  nlohmann::json order = guest.poll(order_url, "pending");
  ASSERT_EQ(order.value("status", ""), "ready") << order.dump();
  ASSERT_NO_FATAL_FAILURE(kill_node());  // between newOrder and finalize
  ASSERT_NO_FATAL_FAILURE(start_node());
  EXPECT_EQ(challenge_txt(), "");
  ASSERT_NO_FATAL_FAILURE(finish(guest, order_url));
  EXPECT_EQ(challenge_txt(), "");
}

TEST_F(AcmeUpstreamKillTest, AnOrderTheCaNoLongerKnowsFailsWithAClearProblem) {
  ASSERT_NO_FATAL_FAILURE(start_pebble({}));
  ASSERT_NO_FATAL_FAILURE(start_node());
  GuestClient guest(directory_url(), dir_.path() + "/guest");
  ASSERT_TRUE(guest.ok());
  const std::string order_url = guest.new_order(kName);
  ASSERT_EQ(guest.poll(order_url, "pending").value("status", ""), "ready");
  ASSERT_NO_FATAL_FAILURE(kill_node());
  // The upstream side is lost meanwhile (seedd's upstream state moved away, as after a bad
  // restore): the guest's order must fail with a problem saying what to do, not hang.
  fs::rename(dir_.path() + "/state/acme-upstream/orders.json", dir_.path() + "/orders.json.lost");
  ASSERT_NO_FATAL_FAILURE(start_node());
  nlohmann::json order = guest.get(order_url);
  EXPECT_EQ(order.value("status", ""), "invalid") << order.dump();
  EXPECT_THAT(order.dump(), HasSubstr("create a new order")) << order.dump();
  EXPECT_EQ(challenge_txt(), "");
}

}  // namespace
}  // namespace seed
