// Benchmark: `seedctl status --json` on a large node (1,000 instances across 100 sources,
// the scale) through the real control socket, against `cat` printing the same JSON
// from a file: the peer is "a process that prints this many bytes", so the ratio is what the
// socket, the request, the engine's JSON and seedctl's re-printing cost on top. The engine is
// a RecordingService (no state store), so this measures the front end only.
// Args: rounds (median). Prints, never asserts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"
#include "control/control_server.hpp"
#include "control/testing/recording_service.hpp"
#include "reconcile/service_json.hpp"

namespace {

using namespace seed;
using Clock = std::chrono::steady_clock;

std::vector<reconcile::SourceView> big_node() {
  std::vector<reconcile::SourceView> sources;
  for (int s = 0; s < 100; ++s) {
    reconcile::SourceView v;
    v.record.canonical = "github:tenant" + std::to_string(s) + "/app";
    v.record.ns = "ns" + std::to_string(s) + "abcdefgh";
    v.record.planted_by = "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    for (int i = 0; i < 10; ++i) {
      reconcile::InstanceView inst;
      inst.id = {v.record.ns, "web" + std::to_string(i)};
      inst.source = v.record.canonical;
      inst.state = reconcile::InstanceState::running;
      inst.generation = "g" + std::to_string(s * 10 + i) + "0123456789abcdef";
      inst.desired_generation = inst.generation;
      inst.toplevel = "/nix/store/0123456789abcdefghijklmnopqrstuv-nixos-system-web";
      inst.dns_names = {inst.id.str() + ".seed.example.org"};
      inst.ipv4 = "10.100." + std::to_string(s) + "." + std::to_string(i + 2);
      v.instances.push_back(inst);
    }
    sources.push_back(v);
  }
  return sources;
}

double run_ms(const std::vector<std::string>& argv) {
  SpawnOptions o;
  o.argv = argv;
  o.stdout_mode = Output::capture;
  auto start = Clock::now();
  auto r = run(o);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!r.ok() || !r->status.success() || r->out.size() < 100000) {
    std::fprintf(stderr, "seedctl_status_bench: %s failed\n", argv[0].c_str());
    std::exit(1);
  }
  return ms;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  log::init(log::Level::warn);  // one request line per round would drown the numbers
  const char* build = std::getenv("SEED_BUILD_DIR");
  std::string seedctl = std::string(build ? build : "build") + "/src/seedctl/seedctl";
  testing::TempDir dir;
  control::testing::RecordingService service;
  service.sources = big_node();
  control::ControlConfig config;
  config.socket_path = dir.path() + "/run/control.sock";
  control::ControlServer server;
  if (auto st = server.start(config, service); !st) {
    std::fprintf(stderr, "seedctl_status_bench: %s\n", st.error().describe().c_str());
    return 1;
  }
  std::string file = dir.path() + "/status.json";
  std::ofstream(file) << reconcile::status_json(service.sources).dump(2) << "\n";

  std::vector<double> ours, peer;
  for (int i = 0; i < rounds; ++i) {
    ours.push_back(run_ms({seedctl, "--socket", config.socket_path, "status", "--json"}));
    peer.push_back(run_ms({"cat", file}));
  }
  double o = median(ours), p = median(peer);
  std::printf("seedctl status --json, 1000 instances / 100 sources: %.1f ms median of %d (target < 200 ms)\n", o, rounds);
  std::printf("cat of the same JSON:                               %.1f ms\n", p);
  std::printf("ratio seedctl/cat: %.2f\n", o / p);
  return 0;
}
