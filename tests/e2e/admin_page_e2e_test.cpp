// The node owner's admin listener end to end: a real engine with a planted test instance (real
// nix, QEMU/TCG guest), seedd's HttpServer with the admin routes on loopback, and the real
// clients: curl for the JSON API, `promtool check metrics` for /metrics, and headless Chromium
// for the status page (it must load without console errors and show the instance; its
// screenshot is kept in the test results directory).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/admin/admin_routes.hpp"
#include "api/http_server.hpp"
#include "api/testing/listen.hpp"
#include "common/metrics.hpp"
#include "common/process.hpp"
#include "common/testing/artifact_dir.hpp"
#include "seedd/node_metrics.hpp"
#include "tests/e2e/engine_fixture.hpp"

namespace seed::e2e {
namespace {

using ::testing::HasSubstr;

RunResult run_tool(std::vector<std::string> argv, const std::string& input = {},
                   std::chrono::seconds timeout = std::chrono::seconds(60)) {
  SpawnOptions o;
  o.argv = std::move(argv);
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.input = input;
  ro.timeout = timeout;
  auto r = run(o, ro);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : RunResult{};
}

std::string curl(const std::string& url) {
  return run_tool({"curl", "-sS", "--fail-with-body", "--max-time", "20", "--noproxy", "*", url}).out;
}

using seed::testing::artifact_dir;

// The sum of every series of one sample name in an exposition ("name{…} value" lines).
double family_sum(const std::string& exposition, const std::string& name) {
  double sum = 0;
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

class AdminPageTest : public EngineTest {
 protected:
  void start_admin() {
    history_ = std::make_unique<api::admin::UsageHistory>();
    history_->start(*engine_, std::chrono::seconds(1));
    routes_ = std::make_unique<api::admin::AdminRoutes>(*engine_, metrics::global(), *history_);
    api::Router router;
    routes_->add_routes(router);
    std::vector<api::Listener> listeners;
    listeners.push_back({"admin", api::testing::listen_loopback(&port_), std::move(router)});
    auto server = api::HttpServer::start(std::move(listeners), api::HttpLimits{});
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    node_metrics_ = std::make_unique<seedd::NodeMetrics>(
        metrics::global(), seedd::MetricSources{engine_.get(), dns_.get(), ingress_.get(), server_.get()});
    base_ = "http://127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override {
    node_metrics_.reset();
    if (server_) server_->stop();
    if (history_) history_->stop();
    EngineTest::TearDown();
  }
  std::unique_ptr<seedd::NodeMetrics> node_metrics_;
  std::unique_ptr<api::admin::UsageHistory> history_;
  std::unique_ptr<api::admin::AdminRoutes> routes_;
  std::unique_ptr<api::HttpServer> server_;
  uint16_t port_ = 0;
  std::string base_;
};

TEST_F(AdminPageTest, StatusLogsMetricsAndThePageShowAPlantedInstance) {
  // Other tests in this process deploy too: the engine's counters are compared before and after.
  auto& deploys_ok = metrics::global().counter("seed_deploys_total", "", {{"stage", "done"}, {"outcome", "ok"}});
  const double deploys_before = deploys_ok.value();
  open_engine();
  const std::string uri = write_flake(web_flake(""));
  in_ns([&] { ASSERT_TRUE(engine_->plant(uri, "test", nullptr)); });
  EXPECT_EQ(deploys_ok.value(), deploys_before + 1);
  // A second deploy fails at eval: the history keeps both, with the failure's stage and error.
  write_flake("{ outputs = { self }: { seeds = ; }; }");
  in_ns([&] { ASSERT_FALSE(engine_->plant(uri, "test", nullptr)); });
  start_admin();

  // The JSON API is what `seedctl status --json` prints.
  auto status = nlohmann::json::parse(curl(base_ + "/api/v1/status"), nullptr, false);
  ASSERT_TRUE(status.is_object());
  ASSERT_EQ(status["sources"].size(), 1u);
  EXPECT_EQ(status["sources"][0]["instances"][0]["name"], "web");
  EXPECT_EQ(status["sources"][0]["instances"][0]["state"], "running");
  const auto& history = status["sources"][0]["deploys"];
  ASSERT_EQ(history.size(), 2u) << status.dump();
  EXPECT_EQ(history[0]["outcome"], "failed");
  EXPECT_EQ(history[0]["stage"], "eval");
  EXPECT_THAT(history[0]["error"].get<std::string>(), HasSubstr("syntax error"));
  EXPECT_EQ(history[1]["outcome"], "ok");
  EXPECT_EQ(history[1]["stage"], "done");
  EXPECT_EQ(history[1]["because"], "plant");

  auto logs = nlohmann::json::parse(curl(base_ + "/api/v1/logs?instance=web&lines=50"), nullptr, false);
  ASSERT_TRUE(logs.is_object());
  EXPECT_EQ(logs["schema"], 1);
  EXPECT_THAT(logs["lines"].dump(), HasSubstr("SEED-GUEST-READY"));
  const std::string unknown = run_tool({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                        base_ + "/api/v1/logs?instance=nope"}).out;
  EXPECT_EQ(unknown, "404");
  const std::string bad_lines = run_tool({"curl", "-s", base_ + "/api/v1/logs?instance=web&lines=0"}).out;
  EXPECT_THAT(bad_lines, HasSubstr("lines must be 1..10000"));

  // /metrics passes Prometheus' own linter.
  const std::string exposition = curl(base_ + "/metrics");
  // The engine's own counters (registered on first use) and
  EXPECT_THAT(exposition, HasSubstr("seed_deploys_total{stage=\"done\",outcome=\"ok\"} " +
                                    metrics::format_value(deploys_ok.value()) + "\n"));
  EXPECT_THAT(exposition, HasSubstr("seed_boot_to_healthy_seconds_count{outcome=\"healthy\"} "));
  // the node's families, from the engine's views and the servers' counters.
  EXPECT_THAT(exposition, HasSubstr("seed_instances{state=\"running\"} 1\n"));
  EXPECT_THAT(exposition, HasSubstr("seed_sources 1\n"));
  EXPECT_THAT(exposition, HasSubstr("seed_instance_memory_bytes{instance=\"web."));
  EXPECT_THAT(exposition, HasSubstr("seed_dns_queries_total{transport=\"udp\"}"));
  EXPECT_THAT(exposition, HasSubstr("seed_ingress_connections_total{outcome=\"routed\"}"));
  EXPECT_THAT(exposition, HasSubstr("seed_http_requests_total{outcome=\"handled\"}"));
  // Volume usage per instance, and one health-check try at least (the boot's).
  EXPECT_THAT(exposition, HasSubstr("seed_volume_used_bytes{instance=\"web."));
  EXPECT_THAT(exposition, HasSubstr(",volume=\"data\"} "));
  EXPECT_THAT(exposition, HasSubstr("seed_volume_size_bytes{instance=\"web."));
  const double checks_before = family_sum(exposition, "seed_health_check_seconds_count");
  EXPECT_GT(checks_before, 0);
  RunResult lint = run_tool({"promtool", "check", "metrics"}, exposition);
  EXPECT_TRUE(lint.status.success()) << lint.out << lint.err;

  // Values follow the instance: a restart boots it again, so its health check runs again.
  const auto web = in_ns([&] { return instance(uri, "web"); });
  in_ns([&] {
    auto restarted = engine_->restart(web.id, nullptr);
    ASSERT_TRUE(restarted) << restarted.error().describe();
  });
  const std::string after_restart = curl(base_ + "/metrics");
  EXPECT_GT(family_sum(after_restart, "seed_health_check_seconds_count"), checks_before);
  EXPECT_THAT(after_restart, HasSubstr("seed_instances{state=\"running\"} 1\n"));

  // Usage samples arrive (the sampler runs every second here).
  nlohmann::json usage;
  for (int i = 0; i < 50; ++i) {
    usage = nlohmann::json::parse(curl(base_ + "/api/v1/usage"), nullptr, false);
    if (usage.is_object() && !usage["instances"].empty() && usage["instances"].begin()->at("points").size() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_TRUE(usage.is_object());
  ASSERT_EQ(usage["instances"].size(), 1u);
  EXPECT_GE(usage["instances"].begin()->at("points").size(), 2u);
  EXPECT_GT(usage["instances"].begin()->at("points").back().at(2).get<double>(), 16.0 * (1 << 20));
  // The volume `data` (64Mi) as of the last sample.
  const auto& volumes = usage["instances"].begin()->at("volumes");
  ASSERT_EQ(volumes.size(), 1u) << usage.dump();
  EXPECT_EQ(volumes[0]["name"], "data");
  EXPECT_GT(volumes[0]["size_bytes"].get<double>(), 32.0 * (1 << 20));

  // The page in a real browser: rendered DOM, console, screenshot.
  const std::string dir = artifact_dir(root());
  const std::vector<std::string> chromium = {"chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                             "--enable-logging=stderr", "--v=0", "--virtual-time-budget=8000",
                                             "--window-size=1280,1400"};
  std::vector<std::string> dump = chromium;
  dump.insert(dump.end(), {"--dump-dom", base_ + "/"});
  RunResult dom = run_tool(dump, {}, std::chrono::seconds(120));
  EXPECT_THAT(dom.out, HasSubstr("data-loaded=\"yes\""));
  EXPECT_THAT(dom.out, HasSubstr("<td>web</td>"));
  EXPECT_THAT(dom.out, HasSubstr("state-running"));
  EXPECT_THAT(dom.out, HasSubstr("<td>data</td>"));  // the volumes table
  EXPECT_THAT(dom.out, HasSubstr("<canvas"));  // Chart.js drew the instance's plot
  // The deploy history: the failed eval with its error, then the plant that worked.
  EXPECT_THAT(dom.out, HasSubstr("<td class=\"outcome-failed\">failed</td><td>eval</td>"));
  EXPECT_THAT(dom.out, HasSubstr("syntax error"));
  EXPECT_THAT(dom.out, HasSubstr("<td class=\"outcome-ok\">ok</td>"));
  // Any console message (an exception, a CSP violation, a failed fetch) is a defect: the page
  // logs nothing on purpose.
  std::string console;
  std::istringstream lines(dom.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(":CONSOLE") != std::string::npos) console += line + "\n";
  }
  EXPECT_EQ(console, "") << "the status page wrote to the browser console";

  std::vector<std::string> shot = chromium;
  const std::string png = dir + "/admin-status-page.png";
  shot.insert(shot.end(), {"--screenshot=" + png, base_ + "/"});
  run_tool(shot, {}, std::chrono::seconds(120));
  ASSERT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 10000u);
}

}  // namespace
}  // namespace seed::e2e
