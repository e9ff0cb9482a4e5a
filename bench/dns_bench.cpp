// DNS benchmark: queries per second that dnsperf gets from seedd's DNS server vs nsd serving
// the same zone on the same machine, in the same run, both with response rate limiting off
// (nsd: rrl-ratelimit: 0; ours: rate_limit.queries_per_second = 0) and one server thread
// each (nsd's server-count: 1). Runs inside a private network namespace so port 53 on
// 127.0.0.x is free and the host is untouched. Prints each measurement and the ratio.
//
// usage: dns_bench [seconds per run, default 10] [rounds, default 2]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"
#include "net/dns/server.hpp"
#include "net/dns/testing/netns.hpp"

using namespace seed;
using namespace seed::net::dns;
using namespace std::chrono_literals;

namespace {

constexpr int namespaces = 10, per_namespace = 100;

std::string v4(int ns, int i) { return "10.0." + std::to_string(ns) + "." + std::to_string(i + 1); }
std::string name(int ns, int i) { return "i" + std::to_string(i) + ".ns" + std::to_string(ns) + ".seed.test"; }

std::vector<InstanceAddress> instances() {
  std::vector<InstanceAddress> out;
  for (int ns = 0; ns < namespaces; ++ns) {
    for (int i = 0; i < per_namespace; ++i) {
      out.push_back({"ns" + std::to_string(ns), "i" + std::to_string(i), v4(ns, i), "fd00::" + std::to_string(ns * 1000 + i + 1)});
    }
  }
  return out;
}

// The same zone for nsd, in its master-file format.
std::string nsd_zone() {
  std::string z =
      "$ORIGIN seed.test.\n$TTL 60\n"
      "@ IN SOA ns1.seed.test. hostmaster.seed.test. 1 3600 600 1209600 30\n"
      "@ IN NS ns1.seed.test.\nns1 IN A 192.0.2.53\nns1 IN AAAA 2001:db8::53\n";
  for (const auto& i : instances()) {
    z += i.instance + "." + i.ns + " IN A " + i.ipv4 + "\n";
    z += i.instance + "." + i.ns + " IN AAAA " + i.ipv6 + "\n";
  }
  return z;
}

// A mix a real zone sees: mostly A/AAAA hits, some NXDOMAIN and NODATA, the apex.
std::string queries() {
  std::string q;
  for (int ns = 0; ns < namespaces; ++ns) {
    for (int i = 0; i < per_namespace; ++i) {
      q += name(ns, i) + " A\n";
      if (i % 2 == 0) q += name(ns, i) + " AAAA\n";
      if (i % 10 == 0) q += "missing" + std::to_string(i) + ".ns" + std::to_string(ns) + ".seed.test A\n";
      if (i % 25 == 0) q += name(ns, i) + " TXT\n";
    }
  }
  q += "seed.test SOA\nseed.test NS\n";
  return q;
}

Result<double> dnsperf(const std::string& server, const std::string& query_file, int seconds) {
  SpawnOptions o;
  o.argv = {"dnsperf", "-s", server, "-d", query_file, "-l", std::to_string(seconds), "-c", "8", "-q", "200"};
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.timeout = std::chrono::seconds(seconds + 30);
  auto r = SEED_TRY(run_checked(std::move(o), ro));
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex(R"(Queries per second:\s+([0-9.]+))"))) {
    return make_error(Errc::protocol, "dnsperf printed no 'Queries per second'").with("output", r.out);
  }
  // Both servers must give the same answers for the numbers to compare like with like.
  std::smatch lost, codes;
  std::regex_search(r.out, lost, std::regex(R"(Queries lost:\s+([0-9]+))"));
  std::regex_search(r.out, codes, std::regex(R"(Response codes:\s+([^\n]*))"));
  std::printf("  %s: %s lost; %s\n", server.c_str(), lost.empty() ? "?" : lost[1].str().c_str(),
              codes.empty() ? "?" : codes[1].str().c_str());
  return std::stod(m[1].str());
}

bool write(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return bool(f);
}

int fail(const Error& e) {
  std::fprintf(stderr, "dns_bench: %s\n", e.describe().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 10;
  int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 2;
  for (const char* prog : {"dnsperf", "nsd", "ip"}) {
    if (!find_executable(prog)) {
      std::fprintf(stderr, "dns_bench: %s is not installed (scripts/install-deps)\n", prog);
      return 1;
    }
  }
  auto netns = seed::net::dns::testing::NetnsScope::enter("seed-dns-bench");
  if (!netns) return fail(netns.error());
  seed::testing::TempDir dir;
  const std::string qfile = dir.path() + "/queries", conf = dir.path() + "/nsd.conf";
  if (!write(qfile, queries()) || !write(dir.path() + "/seed.test.zone", nsd_zone())) return 1;
  if (!write(conf, "server:\n  ip-address: 127.0.0.2\n  port: 53\n  username: \"\"\n  chroot: \"\"\n"
                   "  zonesdir: \"" + dir.path() + "\"\n  database: \"\"\n"
                   "  zonelistfile: \"" + dir.path() + "/zone.list\"\n"
                   "  xfrdfile: \"" + dir.path() + "/xfrd.state\"\n"
                   "  pidfile: \"" + dir.path() + "/nsd.pid\"\n"
                   "  logfile: \"" + dir.path() + "/nsd.log\"\n"
                   "  server-count: 1\n  rrl-ratelimit: 0\n  verbosity: 0\n"
                   "remote-control:\n  control-enable: no\n"
                   "zone:\n  name: seed.test\n  zonefile: seed.test.zone\n")) {
    return 1;
  }

  ZoneConfig zc;
  zc.domain = "seed.test";
  zc.nameservers = {{"ns1.seed.test", "192.0.2.53", "2001:db8::53"}};
  auto store = ZoneStore::create(zc);
  if (!store) return fail(store.error());
  if (auto st = (*store)->replace(instances()); !st) return fail(st.error());
  ServerConfig sc;
  sc.public_listen = {"127.0.0.1:53"};
  auto server = Server::start(sc, **store);
  if (!server) return fail(server.error());

  SpawnOptions nsd_opts;
  nsd_opts.argv = {"nsd", "-d", "-c", conf};
  nsd_opts.stderr_mode = Output::file;
  nsd_opts.stderr_file = dir.path() + "/nsd.stderr";
  auto nsd = spawn(nsd_opts);
  if (!nsd) return fail(nsd.error());
  std::this_thread::sleep_for(1500ms);  // nsd loads the zone and forks its server
  if (!nsd->running()) {
    auto log = read_file(dir.path() + "/nsd.stderr");
    std::fprintf(stderr, "dns_bench: nsd exited: %s\n", log ? log->c_str() : "");
    return 1;
  }

  std::vector<double> ours, theirs;
  int status = 0;
  for (int r = 0; r < rounds && status == 0; ++r) {
    // Alternate, so a noisy neighbour on the shared cores hurts both sides alike.
    auto a = dnsperf("127.0.0.1", qfile, seconds);
    auto b = dnsperf("127.0.0.2", qfile, seconds);
    if (!a || !b) {
      fail(a ? b.error() : a.error());
      status = 1;
      break;
    }
    std::printf("round %d: seedd %.0f qps, nsd %.0f qps\n", r + 1, *a, *b);
    ours.push_back(*a);
    theirs.push_back(*b);
  }
  nsd->terminate();
  if (status != 0) return status;
  double best_ours = *std::max_element(ours.begin(), ours.end());
  double best_theirs = *std::max_element(theirs.begin(), theirs.end());
  std::printf("dns: seedd %.0f qps vs nsd %.0f qps (best of %d x %d s): ratio %.2f (goal >= 1.0)\n",
              best_ours, best_theirs, rounds, seconds, best_ours / best_theirs);
  return 0;
}
