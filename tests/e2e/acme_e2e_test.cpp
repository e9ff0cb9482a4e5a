// Certificates for instances from seedd's ACME facade, end to end: the real engine plants
// real QEMU/TCG guests on the real bridge; the HTTP API runs on the bridge address exactly as
// seedd starts it (seedd/api_wiring: guest listener, caller lookup through the engine's
// Service, the internal CA); seedctl reads the root through a real control socket.
//
// The ACME clients (Debian's lego and caddy, dynamically linked, so they cannot run inside the
// busybox test guest) run in a network namespace that takes the instance's place on the
// bridge: the guest's tap is renamed out of the way and a veth with the tap's name, the
// guest's MAC and its address takes the port, so the node's anti-spoofing rules for that tap
// apply to the client as they would to the guest. What this cannot catch: a guest-side
// problem of reading /run/seed/env (checked separately inside the real guest below).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "control/control_server.hpp"
#include "engine_fixture.hpp"
#include "net/names.hpp"
#include "node_parts.hpp"
#include "reconcile/slot_names.hpp"
#include "seedd/api_wiring.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using vmm::testing::guest_sh;

const std::string kGateway = "10.77.0.1";

struct Ran {
  int code = -1;
  std::string output;
};

// A program run to completion in `netns` (`ip netns exec`), with its output.
Ran run_in(const std::string& netns, std::vector<std::string> argv, std::vector<std::string> env = {},
           std::chrono::seconds timeout = std::chrono::seconds(180)) {
  SpawnOptions o;
  o.argv = {"ip", "netns", "exec", netns};
  o.argv.insert(o.argv.end(), argv.begin(), argv.end());
  o.env = std::move(env);
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.timeout = timeout;
  auto r = run(std::move(o), ro);
  if (!r.ok()) return {-1, r.error().describe()};
  return {r->status.code, r->out + r->err};
}

// Two instances in one namespace: `web` (acme on, the default) and `plain` (acme = false).
std::string acme_flake() {
  auto one = [](const std::string& name, const std::string& attrs) {
    return "seeds." + name + R"( = seed.mkSeed { name = ")" + name + R"("; seed = { expose.http.enable = true; )" +
           attrs + R"( }; kernelParams = "seed.httpd=80:/run/seed/host"; };)";
  };
  return R"({
  outputs = { self }:
    let seed = import ./seed/test-lib.nix { busybox = ./bin; guest = ./guest; };
    in {
      )" + one("web", "") + "\n      " + one("plain", "acme = false;") + R"(
    };
})";
}

class AcmeE2eTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (HasFatalFailure()) return;
    config_.acme_url = guest_acme_url(kGateway, kGuestApiPort);
    open_engine();
    uri_ = write_flake(acme_flake());
    in_ns([&] {
      auto planted = engine_->plant(uri_, "test", nullptr);
      ASSERT_TRUE(planted) << planted.error().describe();
      ApiSettings s;
      s.guest_address = kGateway;
      s.guest_port = kGuestApiPort;
      s.domain = "seed.test";
      s.state_dir = root() + "/state";
      auto api = start_api(s, *engine_);
      ASSERT_TRUE(api) << api.error().describe();
      api_ = std::move(*api);
    });
    control::ControlConfig cc;
    cc.socket_path = root() + "/run/control.sock";
    cc.ca_root_path = internal_ca_dir(root() + "/state") + "/ca.pem";
    auto control = control::start_control_server(cc, *engine_);
    ASSERT_TRUE(control) << control.error().describe();
    control_ = std::move(*control);
    web_ = instance(uri_, "web");
    plain_ = instance(uri_, "plain");
    ASSERT_EQ(web_.state, reconcile::InstanceState::running);
    ASSERT_EQ(plain_.state, reconcile::InstanceState::running);
  }
  void TearDown() override {
    control_.reset();
    api_.reset();
    clients_.clear();
    EngineTest::TearDown();
  }

  std::string agent_socket(const reconcile::InstanceView& v) {
    return root() + "/run/vm/" + reconcile::slot_vm_name(v.id, 'a') + "/agent.sock";
  }

  // A namespace that stands on the bridge as instance `v`: v's tap is renamed away and a veth
  // with the tap's name (so the anti-spoofing rules for v apply), v's MAC and address
  // replaces it. Returns the namespace's name.
  std::string become(const reconcile::InstanceView& v) {
    const auto nid = reconcile::slot_net_id(v.id, 'a');
    const std::string tap = *net::tap_name(nid);
    const std::string mac = net::instance_mac(nid)->str();
    auto& client = clients_.emplace_back(std::make_unique<net::testing::TestNetns>("acme"));
    const std::string away = "x" + tap.substr(1);
    netns_->ip({"link", "set", tap, "down"});
    netns_->ip({"link", "set", tap, "nomaster"});
    netns_->ip({"link", "set", tap, "name", away});
    netns_->ip({"link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", client->name()});
    netns_->ip({"link", "set", tap, "master", "seed0", "up"});
    setup_client(*client, v.ipv4, mac);
    return client->name();
  }
  // A namespace on the bridge through a port that is no instance's, from an unassigned address.
  std::string stranger() {
    auto& client = clients_.emplace_back(std::make_unique<net::testing::TestNetns>("acme"));
    netns_->ip({"link", "add", "probe0", "type", "veth", "peer", "name", "eth0", "netns", client->name()});
    netns_->ip({"link", "set", "probe0", "master", "seed0", "up"});
    setup_client(*client, "10.77.0.200", "02:00:00:00:00:c8");
    return client->name();
  }
  void setup_client(net::testing::TestNetns& client, const std::string& ip, const std::string& mac) {
    client.ip({"link", "set", "lo", "up"});
    client.ip({"link", "set", "eth0", "address", mac, "up"});
    client.ip({"addr", "add", ip + "/24", "dev", "eth0"});
    client.ip({"route", "add", "default", "via", kGateway});
  }

  Ran lego(const std::string& netns, const std::string& name, const std::string& dir) {
    return run_in(netns, {"lego", "--server", config_.acme_url, "--email", "ops@example.org", "--accept-tos",
                          "--key-type", "ec256", "--domains", name, "--http", "--http.port", "127.0.0.1:0",
                          "--path", dir, "run"});
  }
  // The root as `seedctl ca` prints it, saved where openssl can read it.
  std::string seedctl_ca() {
    Ran r = run_in(netns_->name(), {vmm::testing::build_dir() + "/src/seedctl/seedctl", "--socket",
                                    root() + "/run/control.sock", "ca"});
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("-----BEGIN CERTIFICATE-----"));
    const std::string path = root() + "/root-from-seedctl.pem";
    std::ofstream(path) << r.output;
    return path;
  }
  void expect_issued(const std::string& cert, const std::string& key, const std::string& name) {
    const std::string root_pem = seedctl_ca();
    Ran v = run_in(netns_->name(), {"openssl", "verify", "-CAfile", root_pem, "-purpose", "sslserver", cert});
    EXPECT_THAT(v.output, HasSubstr(": OK")) << v.output;
    Ran san = run_in(netns_->name(), {"openssl", "x509", "-in", cert, "-noout", "-ext", "subjectAltName"});
    EXPECT_THAT(san.output, HasSubstr("DNS:" + name)) << san.output;
    // The key in the certificate is the client's own.
    Ran cert_pub = run_in(netns_->name(), {"openssl", "x509", "-in", cert, "-noout", "-pubkey"});
    Ran key_pub = run_in(netns_->name(), {"openssl", "pkey", "-in", key, "-pubout"});
    EXPECT_EQ(cert_pub.output, key_pub.output);
    EXPECT_THAT(cert_pub.output, HasSubstr("PUBLIC KEY"));
  }

  std::string uri_;
  reconcile::InstanceView web_, plain_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<control::ControlServer> control_;
  std::vector<std::unique_ptr<net::testing::TestNetns>> clients_;
};

TEST_F(AcmeE2eTest, TheGuestFindsSeedAcmeUrlOnlyWithAcmeOn) {
  EXPECT_THAT(guest_sh(agent_socket(web_), "cat /run/seed/host/env").out,
              HasSubstr("SEED_ACME_URL=http://10.77.0.1:9876/acme/directory\n"));
  EXPECT_THAT(guest_sh(agent_socket(plain_), "cat /run/seed/host/env").out, Not(HasSubstr("SEED_ACME_URL")));
  // And the listener answers the guest itself, across the real tap and firewall.
  EXPECT_THAT(guest_sh(agent_socket(web_),
                       "printf 'GET /acme/directory HTTP/1.0\\r\\n\\r\\n' | nc -w 10 10.77.0.1 9876 2>&1").out,
              HasSubstr("\"newOrder\":\"http://10.77.0.1:9876/acme/new-order\""));
}

TEST_F(AcmeE2eTest, LegoGetsACertificateForItsOwnNameThatVerifiesAgainstSeedctlCa) {
  const std::string ns = become(web_);
  const std::string name = "web." + web_.id.ns + ".seed.test";
  const std::string dir = root() + "/lego";
  Ran r = lego(ns, name, dir);
  ASSERT_EQ(r.code, 0) << r.output;
  expect_issued(dir + "/certificates/" + name + ".crt", dir + "/certificates/" + name + ".key", name);

  // Refusals, through the same wiring: another instance's name, a name outside the zone.
  Ran foreign = lego(ns, "plain." + web_.id.ns + ".seed.test", root() + "/lego-foreign");
  EXPECT_NE(foreign.code, 0);
  EXPECT_THAT(foreign.output, HasSubstr("rejectedIdentifier"));
  EXPECT_THAT(foreign.output, HasSubstr("plain." + web_.id.ns + ".seed.test is not a name of this instance"));
  Ran outside = lego(ns, "www.example.org", root() + "/lego-outside");
  EXPECT_NE(outside.code, 0);
  EXPECT_THAT(outside.output, HasSubstr("rejectedIdentifier"));
  EXPECT_THAT(outside.output, HasSubstr("www.example.org is not a name of this instance"));
}

TEST_F(AcmeE2eTest, CaddyGetsACertificateFromSeedAcmeUrl) {
  const std::string ns = become(web_);
  const std::string name = "web." + web_.id.ns + ".seed.test";
  const std::string dir = root() + "/caddy";
  fs::create_directories(dir);
  // What a guest's Caddy needs: acme_ca from SEED_ACME_URL (plain HTTP on the bridge's IP
  // literal, which Caddy accepts as an internal address), and a site for its own name.
  std::ofstream(dir + "/Caddyfile") << "{\n  acme_ca {$SEED_ACME_URL}\n  email ops@example.org\n  admin off\n"
                                    << "  storage file_system " << dir << "/data\n  http_port 18080\n  https_port 18443\n}\n"
                                    << name << " {\n  respond \"hello\"\n}\n";
  SpawnOptions o;
  o.argv = {"ip", "netns", "exec", ns, "caddy", "run", "--adapter", "caddyfile", "--config", dir + "/Caddyfile"};
  o.env = {"SEED_ACME_URL=" + config_.acme_url, "HOME=" + dir, "XDG_DATA_HOME=" + dir + "/xdg",
           "XDG_CONFIG_HOME=" + dir + "/xdg"};
  o.stderr_mode = Output::file;
  o.stderr_file = dir + "/caddy.log";
  auto caddy = spawn(o);
  ASSERT_TRUE(caddy) << caddy.error().describe();
  // Caddy writes the certificate and its key under storage/certificates/<issuer>/<name>/.
  std::string cert, key;
  for (int i = 0; i < 240 && cert.empty(); ++i) {
    std::error_code ec;
    if (fs::exists(dir + "/data/certificates", ec)) {
      for (const auto& e : fs::recursive_directory_iterator(dir + "/data/certificates", ec)) {
        if (e.path().filename() == name + ".crt") cert = e.path();
        if (e.path().filename() == name + ".key") key = e.path();
      }
    }
    if (cert.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  caddy->terminate();
  auto log = read_file(dir + "/caddy.log");
  ASSERT_FALSE(cert.empty()) << "caddy stored no certificate; its log:\n" << (log ? *log : log.error().describe());
  expect_issued(cert, key, name);
  EXPECT_THAT(*log, HasSubstr("certificate obtained successfully"));
}

TEST_F(AcmeE2eTest, AnInstanceWithAcmeOffIsToldHowToTurnItOn) {
  const std::string ns = become(plain_);
  Ran r = lego(ns, "plain." + plain_.id.ns + ".seed.test", root() + "/lego");
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("ACME is turned off for this instance; set seed.acme = true"));
}

TEST_F(AcmeE2eTest, ASourceThatIsNoInstanceIsRefused) {
  const std::string ns = stranger();
  Ran r = lego(ns, "web." + web_.id.ns + ".seed.test", root() + "/lego");
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("no instance of this node sends from 10.77.0.200"));
}

}  // namespace
}  // namespace seed::e2e
