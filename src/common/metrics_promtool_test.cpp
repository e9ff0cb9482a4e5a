// The exposition checked by Prometheus' own linter (`promtool check metrics`, Debian's
// prometheus package), so a format slip our unit tests share with the code cannot pass.
#include <gtest/gtest.h>

#include "common/metrics.hpp"
#include "common/process.hpp"

namespace seed::metrics {
namespace {

TEST(MetricsPromtool, EveryKindOfFamilyPassesPromtoolCheckMetrics) {
  ASSERT_TRUE(find_executable("promtool")) << "promtool is missing: scripts/install-deps installs it (prometheus)";
  Registry r;
  r.counter("seed_deploys_total", "Deploys by stage and outcome.", {{"stage", "build"}, {"outcome", "ok"}}).inc();
  r.gauge("seed_pool_vms", "VMs waiting in the shoot pool.", {{"tier", "small"}}).set(2);
  r.histogram("seed_deploy_duration_seconds", "Deploy duration.", {{"stage", "boot"}}).observe(2.7);
  r.collector("seed_instances", "Instances by state.", Type::gauge,
              [](Sink& s) { s.sample("seed_instances", {{"state", "running"}, {"name", "we\"b\n"}}, 1); });
  SpawnOptions o;
  o.argv = {"promtool", "check", "metrics"};
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.input = r.expose();
  auto run = seed::run(o, ro);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_TRUE(run->status.success()) << ro.input << run->out << run->err;
  EXPECT_EQ(run->out + run->err, "") << "promtool found lint problems:\n" << ro.input;
}

}  // namespace
}  // namespace seed::metrics
