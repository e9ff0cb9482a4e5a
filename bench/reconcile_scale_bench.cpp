// The planner and the state store at node scale: 1,000 instances across 100 sources.
//   plan: desired == observed (all running, routed) → the no-op plan; budget 100 ms together
//         with applying it (an empty plan journals nothing).
//   status: what `status --json` reads and renders: the sources, every instance's failure,
//         the JSON; budget 200 ms. Peer: one SQL query fetching the same rows at once, the
//         floor for any status built on this store.
// Prints milliseconds (median of 20) and the ratio to each budget and to the peer.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "common/testing/temp_dir.hpp"
#include "reconcile/planner.hpp"
#include "reconcile/service_json.hpp"
#include "reconcile/state_store.hpp"

using namespace seed;
using namespace seed::reconcile;
using Clock = std::chrono::steady_clock;

namespace {

template <class F>
double median_ms(F&& f, int runs = 20) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main() {
  constexpr int kSources = 100, kPerSource = 10;
  seed::testing::TempDir tmp;
  auto store = StateStore::open(tmp.path() + "/state.db");
  if (!store) return std::fprintf(stderr, "%s\n", store.error().describe().c_str()), 1;

  PlanInput in;
  in.now = std::chrono::system_clock::now();
  std::vector<SourceView> views;
  for (int s = 0; s < kSources; ++s) {
    auto src = parse_flake_source("github:tenant" + std::to_string(s) + "/app", "/srv/silo");
    (void)(*store)->plant(*src, "bench", 1);
    SourceView sv;
    sv.record = {src->canonical, src->ns, src->nix_ref, "bench", 1, 0, ""};
    for (int i = 0; i < kPerSource; ++i) {
      const InstanceId id{src->ns, "app" + std::to_string(i)};
      DesiredInstance d{id, "g" + std::to_string(i), "/nix/store/x-" + std::to_string(i), Rollout::recreate,
                        {{"data", 1ull << 30}}};
      ObservedInstance o;
      o.id = id;
      o.vms = {{d.generation, VmState::running}};
      o.volumes = d.volumes;
      o.tap = true;
      o.routed_generation = d.generation;
      in.desired.push_back(d);
      in.observed.push_back(o);
      if (i == 0) (void)(*store)->set_failure(id.str(), {"build", "a failure to show", 1});
      InstanceView v;
      v.id = id;
      v.state = InstanceState::running;
      v.generation = d.generation;
      v.dns_names = {id.name + "." + id.ns + ".seed.example.org"};
      sv.instances.push_back(v);
    }
    views.push_back(sv);
  }

  size_t actions = 0;
  const double plan_ms = median_ms([&] { actions += plan(in).actions.size(); });
  size_t bytes = 0;
  const double status_ms = median_ms([&] {
    auto sources = (*store)->sources();
    for (auto& sv : views) {
      (void)(*store)->failure(sv.record.canonical);
      auto failures = (*store)->instance_failures(sv.record.ns);
      for (auto& i : sv.instances) {
        if (failures) {
          auto f = failures->find(i.id.name);
          if (f != failures->end()) i.failure = f->second;
        }
      }
    }
    bytes = status_json(views).dump().size();
  });
  // The peer: the same rows in one query, no rendering.
  auto db = sql::Database::open(tmp.path() + "/state.db");
  const double peer_ms = median_ms([&] {
    auto st = (*db)->prepare("SELECT s.canonical, f.scope, f.stage, f.message FROM sources s LEFT JOIN failures f ON f.scope LIKE '%.' || s.ns");
    while (st && *st->step()) {
    }
  });
  std::printf("reconcile scale: %d sources, %d instances\n", kSources, kSources * kPerSource);
  std::printf("  plan (no-op, %zu actions)   %7.2f ms   budget 100 ms  ratio %.3f\n", actions, plan_ms, plan_ms / 100);
  std::printf("  status --json (%zu bytes)  %7.2f ms   budget 200 ms  ratio %.3f   vs one SQL query %.2f ms: %.1fx\n",
              bytes, status_ms, status_ms / 200, peer_ms, status_ms / std::max(peer_ms, 1e-3));
  return 0;
}
