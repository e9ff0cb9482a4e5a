// start_node's failures, for real: inside a private network namespace (its own bridge and
// loopback), a part of the node is given a listen address something else already holds. The
// error must carry stage "start" and name the part (node.hpp's promise), and nothing the
// call started may be left: no thread of the DNS server, ingress or engine.
#include "seedd/node.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <sstream>
#include <thread>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "common/testing/proc_counts.hpp"
#include "common/testing/temp_dir.hpp"
#include "net/dns/endpoint.hpp"
#include "net/dns/testing/netns.hpp"

namespace seed {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using seed::testing::eventually;
using seed::testing::threads;

class NodeStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ns = net::dns::testing::NetnsScope::enter("seed-node");
    ASSERT_TRUE(ns.ok()) << ns.error().describe();
    netns_ = std::move(*ns);
    config_ = default_config();
    config_.runner.state_dir = dir_.path() + "/state";
    config_.runner.runtime_dir = dir_.path() + "/run";
    config_.control.socket_path = dir_.path() + "/run/control.sock";
    config_.node.ssh_port = 0;
    config_.node.storage.directory = dir_.path() + "/volumes";
    config_.node.network.subnet = "10.234.0.0/24";
    config_.listen.dns = {"127.0.0.1:0"};
    // Something else holds this TCP port on loopback (the ingress binds TCP).
    auto busy = net::dns::parse_endpoint("127.0.0.1:0");
    ASSERT_TRUE(busy.ok());
    auto fd = net::dns::bind_tcp(*busy, 8);
    ASSERT_TRUE(fd.ok()) << fd.error().describe();
    busy_ = std::move(*fd);
    busy_address_ = net::dns::local_endpoint(busy_.get())->to_string();
  }

  seed::testing::TempDir dir_;
  std::unique_ptr<net::dns::testing::NetnsScope> netns_;
  Config config_;
  UniqueFd busy_;
  std::string busy_address_;
};

TEST_F(NodeStartTest, ABusyIngressPortIsAStartFailureOfTheIngressAndLeavesNoThread) {
  const size_t before = threads();
  config_.listen.http = {busy_address_};
  auto node = start_node(config_);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().get("stage"), "start") << node.error().describe();
  EXPECT_EQ(node.error().get("part"), "ingress") << node.error().describe();
  EXPECT_THAT(node.error().describe(), HasSubstr(busy_address_.substr(busy_address_.rfind(':') + 1)));
  // The DNS server had started (its thread) before the ingress failed: it is stopped again.
  EXPECT_TRUE(eventually([&] { return threads() == before; })) << threads() << " threads, " << before << " before";
}

TEST_F(NodeStartTest, ABusyDnsPortIsAStartFailureOfTheDnsServer) {
  config_.listen.dns = {busy_address_};
  // UDP and TCP are both bound by the DNS server; TCP is the one held here.
  auto node = start_node(config_);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().get("stage"), "start") << node.error().describe();
  EXPECT_EQ(node.error().get("part"), "dns") << node.error().describe();
}

// The HTTP API binds its sockets itself: a port something else holds is seedd's start error
// naming the API's listener and the address, and what had started before (DNS, engine) stops.
TEST_F(NodeStartTest, ABusyAdminApiPortIsAStartFailureOfTheApiNamingTheListener) {
  const size_t before = threads();
  const std::string port = busy_address_.substr(busy_address_.rfind(':') + 1);
  config_.node.api_admin_port = std::stoul(port);
  auto node = start_node(config_);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().get("stage"), "start") << node.error().describe();
  EXPECT_EQ(node.error().get("part"), "api") << node.error().describe();
  EXPECT_THAT(node.error().message, HasSubstr("the HTTP API's admin listener cannot listen on 127.0.0.1:" + port));
  EXPECT_THAT(std::string(node.error().get("hint").value_or("")), HasSubstr("api.admin_port"));
  EXPECT_TRUE(eventually([&] { return threads() == before; })) << threads() << " threads, " << before << " before";
}

// The node as seedd starts it serves the ACME facade on the bridge address (the guest
// listener) and /healthz on loopback (the admin listener), each route on its own listener
// only; the internal CA's root is where `seedctl ca` reads it.
TEST_F(NodeStartTest, TheApiServesTheFacadeOnTheBridgeAndHealthzOnLoopback) {
  config_.node.api_port = 9876;
  config_.node.api_admin_port = 9877;
  config_.node.api_public_port = 9878;
  config_.listen.http = {"127.0.0.1:8080"};  // the ingress's port 80
  config_.node.domain = "seed.test";
  const size_t before = threads();
  auto node = start_node(config_);
  ASSERT_TRUE(node.ok()) << node.error().describe();
  auto get = [](const std::string& url) {
    SpawnOptions o;
    o.argv = {"curl", "-s", "--max-time", "20", "--noproxy", "*", "-w", " %{http_code}", url};
    o.stdout_mode = Output::capture;
    auto r = run_checked(o);
    return r ? r->out : r.error().describe();
  };
  EXPECT_EQ(get("http://127.0.0.1:9877/healthz"), "ok\n 200");
  EXPECT_THAT(get("http://10.234.0.1:9876/acme/directory"),
              HasSubstr("\"newOrder\":\"http://10.234.0.1:9876/acme/new-order\""));
  EXPECT_THAT(get("http://127.0.0.1:9877/acme/directory"), HasSubstr(" 404"));
  EXPECT_THAT(get("http://10.234.0.1:9876/healthz"), HasSubstr(" 404"));
  // The node owner's admin routes: /metrics with the node's collectors, the status page, the
  // JSON API; none of them on the guest listener.
  EXPECT_THAT(get("http://127.0.0.1:9877/metrics"), HasSubstr("seed_instances{state=\"running\"} 0"));
  EXPECT_THAT(get("http://127.0.0.1:9877/metrics"), HasSubstr("seed_http_requests_total{outcome=\"handled\"}"));
  EXPECT_THAT(get("http://127.0.0.1:9877/"), HasSubstr("<title>Seed node status</title>"));
  EXPECT_THAT(get("http://127.0.0.1:9877/api/v1/status"), HasSubstr("\"sources\":[]"));
  EXPECT_THAT(get("http://10.234.0.1:9876/metrics"), HasSubstr(" 404"));
  EXPECT_THAT(get("http://10.234.0.1:9876/api/v1/status"), HasSubstr(" 404"));
  // The public listener, reached through the ingress by seedd's own names: an unsigned
  // delivery is refused by the webhook routes themselves (401, not the ingress's unknown-name
  // page), silo.<domain> reaches the same listener; webhooks answer on no other listener.
  auto post = [](const std::string& url, const std::string& host) {
    SpawnOptions o;
    o.argv = {"curl", "-s", "--max-time", "20", "--noproxy", "*", "-w", " %{http_code}", "-H", "Host: " + host,
              "-H", "X-GitHub-Event: push", "--data-binary", "{}", url};
    o.stdout_mode = Output::capture;
    auto r = run_checked(o);
    return r ? r->out : r.error().describe();
  };
  EXPECT_THAT(post("http://127.0.0.1:8080/webhook/some-hook", "hooks.seed.test"), HasSubstr("signature does not match"));
  EXPECT_THAT(post("http://127.0.0.1:8080/webhook/some-hook", "hooks.seed.test"), HasSubstr(" 401"));
  EXPECT_THAT(post("http://127.0.0.1:8080/webhook/some-hook", "silo.seed.test"), HasSubstr(" 401"));
  EXPECT_THAT(post("http://127.0.0.1:8080/webhook/some-hook", "nothing.seed.test"), Not(HasSubstr(" 401")));
  EXPECT_THAT(post("http://127.0.0.1:9877/webhook/some-hook", "hooks.seed.test"), HasSubstr(" 404"));
  EXPECT_THAT(post("http://10.234.0.1:9876/webhook/some-hook", "hooks.seed.test"), HasSubstr(" 404"));
  EXPECT_THAT(get("http://127.0.0.1:9878/metrics"), HasSubstr(" 404"));
  // Silo on the web answers on the same public listener through the ingress (a fresh node has
  // no repositories yet), and on no other listener.
  auto get_as = [](const std::string& url, const std::string& host) {
    SpawnOptions o;
    o.argv = {"curl", "-s", "--max-time", "20", "--noproxy", "*", "-w", " %{http_code}", "-H", "Host: " + host, url};
    o.stdout_mode = Output::capture;
    auto r = run_checked(o);
    return r ? r->out : r.error().describe();
  };
  EXPECT_THAT(get_as("http://127.0.0.1:8080/", "silo.seed.test"), AllOf(HasSubstr("No repositories yet"), HasSubstr(" 200")));
  EXPECT_THAT(get("http://127.0.0.1:9877/"), Not(HasSubstr("No repositories yet")));
  EXPECT_THAT(get("http://10.234.0.1:9876/"), Not(HasSubstr("No repositories yet")));
  auto root = read_file(config_.runner.state_dir + "/acme-ca/ca.pem");
  ASSERT_TRUE(root.ok()) << root.error().describe();
  EXPECT_THAT(*root, HasSubstr("-----BEGIN CERTIFICATE-----"));
  // What seedd does on SIGTERM (daemon.cpp destroys the node): the listeners' threads end and
  // both ports are free again.
  node->reset();
  EXPECT_TRUE(eventually([&] { return threads() == before; })) << threads() << " threads, " << before << " before";
  for (const char* address : {"127.0.0.1:9877", "127.0.0.1:9878", "10.234.0.1:9876"}) {
    auto fd = net::dns::bind_tcp(*net::dns::parse_endpoint(address), 8);
    EXPECT_TRUE(fd.ok()) << address << ": " << fd.error().describe();
  }
}

// The ingress hands seedd's own names to the public listener with the client's address: two
// clients on different addresses (127.0.0.2 and 127.0.0.3, both loopback) have their own
// per-source request budget, and a refused webhook delivery is logged with the real address.
// Before, every forge reached the public listener as 127.0.0.1 through the ingress.
TEST_F(NodeStartTest, ThePublicListenerSeesEachClientsOwnAddressThroughTheIngress) {
  config_.node.api_port = 9876;
  config_.node.api_admin_port = 9877;
  config_.node.api_public_port = 9878;
  config_.listen.http = {"127.0.0.1:8080"};
  config_.node.domain = "seed.test";
  auto node = start_node(config_);
  ASSERT_TRUE(node.ok()) << node.error().describe();
  // `n` GETs of silo.<domain> on one keep-alive connection from `source`: their status codes.
  auto statuses = [](const std::string& source, int n) {
    SpawnOptions o;
    o.argv = {"curl", "-s", "--max-time", "60", "--noproxy", "*", "--interface", source, "-H", "Host: silo.seed.test"};
    for (int i = 0; i < n; ++i) {
      o.argv.insert(o.argv.end(), {"-o", "/dev/null", "-w", "%{http_code}\n", "http://127.0.0.1:8080/"});
    }
    o.stdout_mode = Output::capture;
    auto r = run_checked(o);
    return r ? r->out : r.error().describe();
  };
  // 200 requests outrun the default budget (a burst of 40, then 20 a second) unless they take
  // 8 s; the other address's 30 fit in its own fresh burst, whatever the first one spent.
  EXPECT_THAT(statuses("127.0.0.2", 200), HasSubstr("429"));
  const std::string other = statuses("127.0.0.3", 30);
  EXPECT_THAT(other, Not(HasSubstr("429"))) << other;
  EXPECT_THAT(other, HasSubstr("200"));
  // The webhook routes log a refused delivery with the forge's address.
  std::ostringstream log_text;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text);
  spdlog::default_logger()->sinks().push_back(sink);
  SpawnOptions o;
  o.argv = {"curl", "-s", "--max-time", "20", "--noproxy", "*", "--interface", "127.0.0.4", "-w", " %{http_code}",
            "-H", "Host: hooks.seed.test", "-H", "X-GitHub-Event: push", "-H", "X-GitHub-Delivery: d-1",
            "--data-binary", "{}", "http://127.0.0.1:8080/webhook/some-hook"};
  o.stdout_mode = Output::capture;
  auto refused = run_checked(o);
  spdlog::default_logger()->sinks().pop_back();
  ASSERT_TRUE(refused.ok()) << refused.error().describe();
  EXPECT_THAT(refused->out, HasSubstr(" 401"));
  EXPECT_THAT(log_text.str(), AllOf(HasSubstr("webhook.refused"), HasSubstr("source_address=127.0.0.4"))) << log_text.str();
}

// seedd's own names over HTTPS as start_node wires them: the engine routes them by SNI on the
// ingress's https port to the TLS side of the public listener, which serves a certificate from
// seedd's internal CA (the root `seedctl ca` prints), stored 0600 in the state directory.
TEST_F(NodeStartTest, SeeddsOwnNamesAnswerOverHttpsWithACertificateFromItsInternalCa) {
  config_.node.api_port = 9876;
  config_.node.api_admin_port = 9877;
  config_.node.api_public_port = 9878;
  config_.listen.http = {"127.0.0.1:8080"};
  config_.listen.https = {"127.0.0.1:8443"};
  config_.node.domain = "seed.test";
  auto node = start_node(config_);
  ASSERT_TRUE(node.ok()) << node.error().describe();
  const std::string state = config_.runner.state_dir;
  SpawnOptions o;
  o.argv = {"curl", "-sS", "--max-time", "20", "--noproxy", "*", "--cacert", state + "/acme-ca/ca.pem", "--resolve",
            "silo.seed.test:8443:127.0.0.1", "-o", "/dev/null", "-w", "%{http_code}",
            "https://silo.seed.test:8443/"};
  o.stdout_mode = Output::capture;
  // The first certificate is signed on the keeper's thread right after start: a bounded wait.
  std::string status;
  for (int i = 0; i < 100 && status != "200"; ++i) {
    auto r = run(o);
    status = r ? r->out : r.error().describe();
    if (status != "200") std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, "200");  // Silo's repository list, over TLS
  struct stat st{};
  ASSERT_EQ(::stat((state + "/own-tls/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// ACME mode starts even when the upstream CA cannot be reached (orders fail then, seedd does
// not): the CA is contacted in the background, and the upstream state directory exists.
TEST_F(NodeStartTest, AnUpstreamAcmeCaThatCannotBeReachedDoesNotStopTheStart) {
  config_.node.acme.upstream = "acme";
  config_.node.acme.directory = "https://127.0.0.1:1/directory";
  auto node = start_node(config_);
  ASSERT_TRUE(node.ok()) << node.error().describe();
  EXPECT_TRUE(read_file(config_.runner.state_dir + "/acme-upstream/orders.json").ok());
  EXPECT_FALSE(read_file(config_.runner.state_dir + "/acme-ca/ca.pem").ok());  // no internal CA made
}

}  // namespace
}  // namespace seed
