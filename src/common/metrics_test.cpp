#include "common/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace seed::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Metrics, CountersGaugesAndHistogramsAreExposedWithHelpTypeAndLabels) {
  Registry r;
  r.counter("seed_deploys_total", "Deploys by outcome.", {{"outcome", "ok"}}).inc();
  r.counter("seed_deploys_total", "Deploys by outcome.", {{"outcome", "ok"}}).inc(2);
  r.counter("seed_deploys_total", "Deploys by outcome.", {{"outcome", "failed"}}).inc();
  r.gauge("seed_pool_vms", "VMs waiting in the pool.").set(4);
  auto& h = r.histogram("seed_boot_seconds", "Boot time.", {}, {1, 5});
  h.observe(0.5);
  h.observe(3);
  h.observe(9);
  const std::string text = r.expose();
  EXPECT_THAT(text, HasSubstr("# HELP seed_deploys_total Deploys by outcome.\n# TYPE seed_deploys_total counter\n"));
  EXPECT_THAT(text, HasSubstr("seed_deploys_total{outcome=\"ok\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("seed_deploys_total{outcome=\"failed\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE seed_pool_vms gauge\nseed_pool_vms 4\n"));
  EXPECT_THAT(text, HasSubstr("seed_boot_seconds_bucket{le=\"1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("seed_boot_seconds_bucket{le=\"5\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("seed_boot_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("seed_boot_seconds_sum 12.5\n"));
  EXPECT_THAT(text, HasSubstr("seed_boot_seconds_count 3\n"));
}

TEST(Metrics, LabelValuesAreEscapedAndHelpToo) {
  Registry r;
  r.gauge("seed_x", "a \\ and\na newline", {{"name", "a\"b\\c\nd"}}).set(1);
  const std::string text = r.expose();
  EXPECT_THAT(text, HasSubstr("# HELP seed_x a \\\\ and\\na newline\n"));
  EXPECT_THAT(text, HasSubstr("seed_x{name=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(Metrics, BadNamesAndMismatchedRegistrationsNeverCrashAndAreNotExposed) {
  Registry r;
  r.counter("0bad", "x").inc();
  r.counter("seed_ok_total", "x", {{"__reserved", "v"}}).inc();
  r.counter("seed_ok2_total", "x", {{"le", "v"}}).inc();  // `le` belongs to histograms
  r.counter("seed_same", "x").inc();
  r.gauge("seed_same", "x").set(5);                    // another type: detached
  r.counter("seed_same", "x", {{"other", "label"}}).inc();  // other label names: detached
  const std::string text = r.expose();
  EXPECT_THAT(text, Not(HasSubstr("0bad")));
  EXPECT_THAT(text, Not(HasSubstr("__reserved")));
  EXPECT_THAT(text, Not(HasSubstr("seed_ok2_total")));
  EXPECT_THAT(text, HasSubstr("seed_same 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("seed_same 5")));
  EXPECT_THAT(text, Not(HasSubstr("other=")));
}

TEST(Metrics, CollectorsReportAtScrapeTimeAndForgetDropsAnInstancesSeries) {
  Registry r;
  int instances = 2;
  r.collector("seed_instances", "Instances by state.", Type::gauge, [&](Sink& s) {
    s.sample("seed_instances", {{"state", "running"}}, instances);
    s.sample("seed_other", {{"state", "x"}}, 9);  // not its family: ignored
  });
  r.counter("seed_restarts_total", "Restarts.", {{"instance", "web"}}).inc();
  r.counter("seed_restarts_total", "Restarts.", {{"instance", "api"}}).inc();
  EXPECT_THAT(r.expose(), HasSubstr("seed_instances{state=\"running\"} 2\n"));
  instances = 3;
  EXPECT_THAT(r.expose(), HasSubstr("seed_instances{state=\"running\"} 3\n"));
  EXPECT_THAT(r.expose(), Not(HasSubstr("seed_other")));
  r.forget("instance", "web");
  EXPECT_THAT(r.expose(), Not(HasSubstr("instance=\"web\"")));
  EXPECT_THAT(r.expose(), HasSubstr("seed_restarts_total{instance=\"api\"} 1\n"));
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto& c = r.counter("seed_c_total", "c");
  auto& h = r.histogram("seed_h_seconds", "h", {}, {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000);
  EXPECT_EQ(h.cumulative().back(), 40000u);
  EXPECT_EQ(h.sum(), 40000);
}

TEST(Metrics, ValuesAreSpelledAsPrometheusReadsThem) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
  EXPECT_EQ(format_value(-2), "-2");
}

}  // namespace
}  // namespace seed::metrics
