// Table-driven tests of the planner. Each case gives desired and observed state in a compact
// form and the exact plan expected, action by action (describe() strings).
#include "reconcile/planner.hpp"

#include <gtest/gtest.h>

namespace seed::reconcile {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow = TimePoint(std::chrono::hours(500000));
const InstanceId kWeb{"s-aaaaaaaaaaaa", "web"};
const InstanceId kApi{"s-aaaaaaaaaaaa", "api"};
const InstanceId kOld{"s-bbbbbbbbbbbb", "old"};
constexpr uint64_t Gi = 1ull << 30;

DesiredInstance want(InstanceId id, std::string gen, Rollout r = Rollout::recreate,
                     std::map<std::string, uint64_t> volumes = {}) {
  return {id, std::move(gen), "/nix/store/" + id.name + "-toplevel", r, std::move(volumes)};
}

// An instance running `gen` with everything in place.
ObservedInstance running(InstanceId id, std::string gen, std::map<std::string, uint64_t> volumes = {}) {
  ObservedInstance o;
  o.id = id;
  o.vms = {{gen, VmState::running}};
  o.volumes = std::move(volumes);
  o.tap = true;
  o.routed_generation = gen;
  return o;
}

struct Case {
  std::string name;
  PlanInput input;
  std::vector<std::string> actions;
  std::vector<std::string> problem_stages;
};

PlanInput in(std::vector<DesiredInstance> d, std::vector<ObservedInstance> o = {}) {
  PlanInput p;
  p.desired = std::move(d);
  p.observed = std::move(o);
  p.now = kNow;
  return p;
}

std::vector<Case> cases() {
  std::vector<Case> c;
  c.push_back({"empty node, nothing desired", in({}), {}, {}});
  c.push_back({"fresh instance: everything from scratch",
               in({want(kWeb, "g1", Rollout::recreate, {{"data", Gi}})}),
               {"ensure_tap web.s-aaaaaaaaaaaa", "create_volume web.s-aaaaaaaaaaaa data=1073741824",
                "start_vm web.s-aaaaaaaaaaaa g1",
                "await_healthy web.s-aaaaaaaaaaaa g1", "route web.s-aaaaaaaaaaaa g1"},
               {}});
  c.push_back({"same generation running and routed: nothing",
               in({want(kWeb, "g1")}, {running(kWeb, "g1")}), {}, {}});
  {
    auto o = running(kWeb, "g1");
    o.routed_generation = "";
    c.push_back({"same generation running but not routed (cut off before its check): check, then route",
                 in({want(kWeb, "g1")}, {o}), {"await_healthy web.s-aaaaaaaaaaaa g1", "route web.s-aaaaaaaaaaaa g1"}, {}});
  }
  c.push_back({"recreate: stop old before starting new",
               in({want(kWeb, "g2")}, {running(kWeb, "g1")}),
               {"stop_vm web.s-aaaaaaaaaaaa g1", "start_vm web.s-aaaaaaaaaaaa g2",
                "await_healthy web.s-aaaaaaaaaaaa g2", "route web.s-aaaaaaaaaaaa g2"},
               {}});
  c.push_back({"rolling: start new, route it when healthy, then stop old",
               in({want(kWeb, "g2", Rollout::rolling)}, {running(kWeb, "g1")}),
               {"start_vm web.s-aaaaaaaaaaaa g2", "await_healthy web.s-aaaaaaaaaaaa g2",
                "route web.s-aaaaaaaaaaaa g2", "stop_vm web.s-aaaaaaaaaaaa g1"},
               {}});
  {
    auto o = running(kWeb, "g2");
    o.vms.push_back({"g1", VmState::running});
    c.push_back({"interrupted rolling deploy (new routed, old left): stop the old",
                 in({want(kWeb, "g2", Rollout::rolling)}, {o}), {"stop_vm web.s-aaaaaaaaaaaa g1"}, {}});
  }
  {
    auto o = running(kWeb, "g1");
    o.vms.push_back({"g2", VmState::running});
    c.push_back({"interrupted rolling deploy (new started, not routed): route new, stop old",
                 in({want(kWeb, "g2", Rollout::rolling)}, {o}),
                 {"await_healthy web.s-aaaaaaaaaaaa g2", "route web.s-aaaaaaaaaaaa g2", "stop_vm web.s-aaaaaaaaaaaa g1"},
                 {}});
  }
  c.push_back({"volume grows with the new generation",
               in({want(kWeb, "g2", Rollout::recreate, {{"data", 2 * Gi}})}, {running(kWeb, "g1", {{"data", Gi}})}),
               {"grow_volume web.s-aaaaaaaaaaaa data=2147483648", "stop_vm web.s-aaaaaaaaaaaa g1",
                "start_vm web.s-aaaaaaaaaaaa g2", "await_healthy web.s-aaaaaaaaaaaa g2",
                "route web.s-aaaaaaaaaaaa g2"},
               {}});
  c.push_back({"volume would shrink: refused, old generation untouched",
               in({want(kWeb, "g2", Rollout::recreate, {{"data", Gi / 2}})}, {running(kWeb, "g1", {{"data", Gi}})}),
               {}, {"storage"}});
  c.push_back({"volume dropped from the config: kept, nothing deleted",
               in({want(kWeb, "g2")}, {running(kWeb, "g1", {{"data", Gi}})}),
               {"stop_vm web.s-aaaaaaaaaaaa g1", "start_vm web.s-aaaaaaaaaaaa g2",
                "await_healthy web.s-aaaaaaaaaaaa g2", "route web.s-aaaaaaaaaaaa g2"},
               {}});
  {
    auto p = in({want(kWeb, "g2")}, {running(kWeb, "g1")});
    p.quarantined_toplevels = {"/nix/store/web-toplevel"};
    c.push_back({"quarantined toplevel: not deployed, old keeps running", p, {}, {"quarantine"}});
  }
  {
    auto p = in({want(kWeb, "g1")}, {running(kWeb, "g1")});
    p.quarantined_toplevels = {"/nix/store/web-toplevel"};
    c.push_back({"quarantine does not stop an already running generation", p, {}, {}});
  }
  {
    auto o = running(kWeb, "g1");
    o.vms[0].state = VmState::exited;
    o.crashes = 1;
    o.restart_after = kNow - 1s;
    c.push_back({"crashed, backoff over: restart", in({want(kWeb, "g1")}, {o}),
                 {"stop_vm web.s-aaaaaaaaaaaa g1", "start_vm web.s-aaaaaaaaaaaa g1", "await_healthy web.s-aaaaaaaaaaaa g1",
                  "route web.s-aaaaaaaaaaaa g1"},
                 {}});
  }
  {
    auto o = running(kWeb, "g1");
    o.vms[0].state = VmState::exited;
    o.crashes = 2;
    o.restart_after = kNow + 4s;
    c.push_back({"crashed, still backing off: nothing yet", in({want(kWeb, "g1")}, {o}), {}, {}});
  }
  {
    auto o = running(kWeb, "g1");
    o.vms[0].state = VmState::exited;
    o.crashes = 5;
    c.push_back({"crashed too often: failed, not restarted", in({want(kWeb, "g1")}, {o}), {}, {"runtime"}});
  }
  {
    auto o = running(kWeb, "g1");
    o.vms[0].state = VmState::exited;
    o.crashes = 5;
    c.push_back({"crash-looping generation replaced by a new push", in({want(kWeb, "g2")}, {o}),
                 {"stop_vm web.s-aaaaaaaaaaaa g1", "start_vm web.s-aaaaaaaaaaaa g2",
                  "await_healthy web.s-aaaaaaaaaaaa g2", "route web.s-aaaaaaaaaaaa g2"},
                 {}});
  }
  {
    ObservedInstance o;
    o.id = kWeb;
    o.vms = {{"g1", VmState::exited}};
    o.volumes = {{"data", Gi}};
    c.push_back({"host rebooted (no tap, no TPM, VM gone): bring the host side back first",
                 in({want(kWeb, "g1", Rollout::recreate, {{"data", Gi}})}, {o}),
                 {"ensure_tap web.s-aaaaaaaaaaaa", "stop_vm web.s-aaaaaaaaaaaa g1",
                  "start_vm web.s-aaaaaaaaaaaa g1", "await_healthy web.s-aaaaaaaaaaaa g1", "route web.s-aaaaaaaaaaaa g1"},
                 {}});
  }
  c.push_back({"instance gone from the flake: unroute, stop, keep volumes",
               in({}, {running(kOld, "g9", {{"data", Gi}})}),
               {"unroute old.s-bbbbbbbbbbbb", "stop_vm old.s-bbbbbbbbbbbb g9",
                "remove_tap old.s-bbbbbbbbbbbb"},
               {}});
  c.push_back({"several instances: visited in id order, problems do not block others",
               in({want(kWeb, "g2", Rollout::recreate, {{"data", 1}}), want(kApi, "a1")},
                  {running(kWeb, "g1", {{"data", Gi}}), running(kOld, "g9")}),
               {"ensure_tap api.s-aaaaaaaaaaaa", "start_vm api.s-aaaaaaaaaaaa a1",
                "await_healthy api.s-aaaaaaaaaaaa a1", "route api.s-aaaaaaaaaaaa a1",
                "unroute old.s-bbbbbbbbbbbb", "stop_vm old.s-bbbbbbbbbbbb g9",
                "remove_tap old.s-bbbbbbbbbbbb"},
               {"storage"}});
  return c;
}

class PlannerTable : public ::testing::TestWithParam<Case> {};

TEST_P(PlannerTable, ProducesExactlyTheExpectedPlan) {
  const Case& c = GetParam();
  Plan p = plan(c.input);
  std::vector<std::string> got;
  for (const auto& a : p.actions) got.push_back(describe(a));
  EXPECT_EQ(got, c.actions) << c.name;
  std::vector<std::string> stages;
  for (const auto& pr : p.problems) {
    stages.push_back(pr.stage);
    EXPECT_FALSE(pr.message.empty());
  }
  EXPECT_EQ(stages, c.problem_stages) << c.name;
  // Pure: the same input gives the same plan.
  Plan again = plan(c.input);
  EXPECT_EQ(again.actions, p.actions);
  EXPECT_EQ(again.problems, p.problems);
}

INSTANTIATE_TEST_SUITE_P(Cases, PlannerTable, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           std::string n;
                           for (char ch : info.param.name) n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return std::to_string(info.index) + "_" + n.substr(0, 40);
                         });

TEST(Planner, ShrinkProblemNamesVolumeSizesAndWhatToDo) {
  Plan p = plan(in({want(kWeb, "g2", Rollout::recreate, {{"data", 512ull << 20}})}, {running(kWeb, "g1", {{"data", Gi}})}));
  ASSERT_EQ(p.problems.size(), 1u);
  EXPECT_EQ(p.problems[0].id, kWeb);
  EXPECT_NE(p.problems[0].message.find("'data' is 1Gi"), std::string::npos) << p.problems[0].message;
  EXPECT_NE(p.problems[0].message.find("asks for 512Mi"), std::string::npos) << p.problems[0].message;
  EXPECT_NE(p.problems[0].message.find("at least 1Gi"), std::string::npos);
}

TEST(Planner, InputOrderDoesNotChangeThePlan) {
  auto a = in({want(kWeb, "g1"), want(kApi, "a1")}, {running(kOld, "x"), running(kWeb, "g0")});
  auto b = in({want(kApi, "a1"), want(kWeb, "g1")}, {running(kWeb, "g0"), running(kOld, "x")});
  EXPECT_EQ(plan(a).actions, plan(b).actions);
}

TEST(Planner, NeverDeletesAVolume) {
  // Whatever the input, there is no action that removes a volume: the vocabulary has none,
  // and no plan for a removed instance touches its volumes.
  for (const auto& c : cases()) {
    for (const auto& a : plan(c.input).actions) {
      EXPECT_NE(a.kind == ActionKind::create_volume || a.kind == ActionKind::grow_volume, a.volume.empty())
          << describe(a);
    }
  }
}

}  // namespace
}  // namespace seed::reconcile
