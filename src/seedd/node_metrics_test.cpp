// The ingress's per-route byte counters as /metrics exposes them: a real ingress on loopback,
// a real backend (the ingress tests' HTTP server) and a real client (curl); the exposition is
// checked by Prometheus' own linter (`promtool check metrics`). The shoot pool's families from
// the Service's view (a recording double: that the real pool's counts move is shoot-e2e's job).
#include "seedd/node_metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "common/process.hpp"
#include "control/testing/recording_service.hpp"
#include "net/ingress/testing/backends.hpp"

namespace seed::seedd {
namespace {

using ::testing::HasSubstr;

RunResult run_tool(std::vector<std::string> argv, const std::string& input = {}) {
  SpawnOptions o;
  o.argv = std::move(argv);
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.input = input;
  ro.timeout = std::chrono::seconds(30);
  auto r = run(o, ro);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : RunResult{};
}

void expect_lint_clean(const std::string& exposition) {
  RunResult lint = run_tool({"promtool", "check", "metrics"}, exposition);
  EXPECT_TRUE(lint.status.success()) << exposition << lint.out << lint.err;
  EXPECT_EQ(lint.out + lint.err, "") << "promtool found lint problems:\n" << exposition;
}

TEST(NodeMetrics, IngressBytesPerRouteMoveWhenARequestGoesThrough) {
  for (const char* tool : {"curl", "promtool"}) {
    ASSERT_TRUE(find_executable(tool)) << tool << " is missing: run scripts/install-deps";
  }
  net::ingress::testing::HttpBackend backend("A");
  net::ingress::ServerConfig cfg;
  cfg.listeners = {{"127.0.0.1", 0, 80, net::ingress::Protocol::http}};
  auto ingress = net::ingress::Server::start(cfg);
  ASSERT_TRUE(ingress) << ingress.error().describe();
  net::ingress::DesiredRoutes routes;
  routes.ports[80]["web.alice.example"] = {"127.0.0.1", backend.port()};
  ASSERT_TRUE((*ingress)->set_routes(routes));

  metrics::Registry registry;
  NodeMetrics node_metrics(registry, MetricSources{nullptr, nullptr, ingress->get(), nullptr});
  // Declared before any traffic: HELP and TYPE, no series yet.
  EXPECT_THAT(registry.expose(), HasSubstr("# TYPE seed_ingress_bytes_total counter\n"));
  EXPECT_THAT(registry.expose(), ::testing::Not(HasSubstr("seed_ingress_bytes_total{")));

  const std::string p = std::to_string((*ingress)->bound_port(0));
  RunResult r = run_tool({"curl", "-sS", "--max-time", "10", "--noproxy", "*", "-o", "/dev/null", "-w",
                          "%{size_request} %{size_header} %{size_download}", "--resolve",
                          "web.alice.example:" + p + ":127.0.0.1", "http://web.alice.example:" + p + "/"});
  unsigned long sent = 0, head = 0, body = 0;
  ASSERT_EQ(std::sscanf(r.out.c_str(), "%lu %lu %lu", &sent, &head, &body), 3) << r.out << r.err;
  ASSERT_GT(body, 0u);

  const std::string exposition = registry.expose();
  EXPECT_THAT(exposition, HasSubstr("seed_ingress_bytes_total{host=\"web.alice.example\",port=\"80\",direction=\"in\"} " +
                                    std::to_string(sent) + "\n"));
  EXPECT_THAT(exposition, HasSubstr("seed_ingress_bytes_total{host=\"web.alice.example\",port=\"80\",direction=\"out\"} " +
                                    std::to_string(head + body) + "\n"));
  expect_lint_clean(exposition);
}

TEST(NodeMetrics, TheShootPoolIsExposedAsSeedctlShootsShowsIt) {
  ASSERT_TRUE(find_executable("promtool")) << "promtool is missing: run scripts/install-deps";
  control::testing::RecordingService service;
  metrics::Registry registry;
  NodeMetrics node_metrics(registry, MetricSources{&service, nullptr, nullptr, nullptr});
  // Shoots off: the families are declared, with no samples.
  std::string off = registry.expose();
  EXPECT_THAT(off, HasSubstr("# TYPE seed_shoot_vms gauge\n"));
  EXPECT_THAT(off, HasSubstr("# TYPE seed_shoot_waits_total counter\n"));
  EXPECT_THAT(off, ::testing::Not(HasSubstr("seed_shoot_vms{")));
  EXPECT_THAT(off, ::testing::Not(HasSubstr("\nseed_shoot_queued ")));

  auto& v = service.shoot_pool_view;
  v.enabled = true;
  v.memory_mib = 768;
  v.queued = 2;
  reconcile::ShootTierView t;
  t.name = "small";
  t.ready = 1;
  t.restoring = 1;
  t.running = 1;
  t.restores = 7;
  t.served = 5;
  t.waits = 3;
  v.tiers = {t};
  const std::string on = registry.expose();
  for (const char* line : {"seed_shoot_vms{tier=\"small\",state=\"ready\"} 1\n",
                           "seed_shoot_vms{tier=\"small\",state=\"restoring\"} 1\n",
                           "seed_shoot_vms{tier=\"small\",state=\"running\"} 1\n",
                           "seed_shoot_memory_bytes 805306368\n", "seed_shoot_queued 2\n",
                           "seed_shoot_restores_total{tier=\"small\"} 7\n",
                           "seed_shoot_served_total{tier=\"small\"} 5\n",
                           "seed_shoot_waits_total{tier=\"small\"} 3\n"}) {
    EXPECT_THAT(on, HasSubstr(line));
  }
  expect_lint_clean(on);
}

}  // namespace
}  // namespace seed::seedd
