// Benchmark: the ingress data path against going straight to the backend, against nginx's
// stream proxy with ssl_preread (the usual way to route TLS by SNI without terminating it),
// and against minimal relays with no routing at all (bench/relay: epoll+splice, io_uring
// splice, io_uring recv/send, BPF sockmap), all on loopback, measured with wrk in one run.
//   http:  wrk → ingress (Host routing) → nginx   vs  wrk → nginx  vs  wrk → relay → nginx
//   https: wrk → ingress (SNI routing) → nginx    vs  wrk → nginx  vs  wrk → relay → nginx
//          vs  wrk → nginx stream → nginx
// Each with a small response (request rate) and a 256 KiB one (throughput). Args: seconds per
// run, rounds (interleaved; medians and spreads), and optionally a label filter (profiling one
// row). CPU per request is counted per process (wrk, backend, proxy) so the table shows where
// the time goes. The name is "localhost" so wrk's resolver and SNI agree with the route.
// Prints, never asserts.
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"
#include "net/ingress/server.hpp"
#include "net/ingress/testing/backends.hpp"
#include "bench/relay/relay.hpp"

namespace {

using namespace seed;
using namespace seed::net::ingress;
using seed::bench::Relay;
using seed::bench::RelayKind;
using seed::bench::start_relay;
using namespace std::chrono_literals;

struct Wrk {
  double rps = 0;
  double requests = 0;
  std::string transfer;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// CPU seconds (user + system) used so far by this process: only the ingress threads run here.
double self_cpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The same for another process, from /proc/<pid>/stat (utime and stime, fields 14 and 15).
double pid_cpu(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Pinned mode (SEED_BENCH_PINNED=1): wrk and the backend share CPU 0, every forwarder (this
// process's ingress and relays, nginx's stream proxy) gets CPU 1 to itself, as when clients
// are remote and instances have their own cores: the ratio then shows whether the forwarder
// limits throughput, not what its CPU costs (the shared mode's question).
bool pinned() {
  const char* v = ::getenv("SEED_BENCH_PINNED");
  return v != nullptr && std::string(v) == "1";
}
std::vector<std::string> on_cpu(int cpu, std::vector<std::string> argv) {
  if (pinned()) argv.insert(argv.begin(), {"taskset", "-c", std::to_string(cpu)});
  return argv;
}

Wrk wrk(const std::string& url, int seconds) {
  SpawnOptions o;
  o.argv = on_cpu(0, {"wrk", "-t1", "-c32", "-d" + std::to_string(seconds) + "s", url});
  o.stdout_mode = Output::capture;
  RunOptions ro;
  ro.timeout = std::chrono::seconds(seconds + 30);
  auto r = run(o, ro);
  Wrk w;
  if (!r) return w;
  auto at = r->out.find(" requests in ");
  if (at != std::string::npos) {
    auto line = r->out.rfind('\n', at);
    w.requests = std::stod(r->out.substr(line + 1, at - line - 1));
  }
  at = r->out.find("Requests/sec:");
  if (at != std::string::npos) w.rps = std::stod(r->out.substr(at + 13));
  at = r->out.find("Transfer/sec:");
  if (at != std::string::npos) {
    auto end = r->out.find('\n', at);
    w.transfer = r->out.substr(at + 13, end - at - 13);
    while (!w.transfer.empty() && w.transfer.front() == ' ') w.transfer.erase(0, 1);
  }
  if (r->out.find("Non-2xx") != std::string::npos || r->out.find("Socket errors") != std::string::npos) {
    std::fprintf(stderr, "wrk %s reported errors:\n%s\n", url.c_str(), r->out.c_str());
  }
  return w;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// CPU seconds used so far by the kernel's worker threads (kworker/*, ksoftirqd/*). The
// per-process columns miss kernel work done there: the sockmap relay forwards in kworkers (the
// psock backlog sends redirected bytes on the peer socket), not in this process. Threads that
// exit during a run are missed, and other load's kworker time is included: a rough column.
double kthreads_cpu() {
  double sum = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.empty() || name[0] < '0' || name[0] > '9') continue;
    std::ifstream comm(e.path() / "comm");
    std::string c;
    std::getline(comm, c);
    if (c.rfind("kworker", 0) == 0 || c.rfind("ksoftirqd", 0) == 0) {
      sum += pid_cpu(static_cast<pid_t>(std::stol(name)));
    }
  }
  return sum;
}

double children_cpu() {  // wrk, once run() has reaped it
  rusage u{};
  ::getrusage(RUSAGE_CHILDREN, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// One row of the table: a URL measured once per round.
struct Row {
  std::string label, url;
  int proxy;  // 0: none (direct), 1: this process (ingress, relays), 2: the nginx stream proxy
  std::vector<double> rps = {}, wrk_us = {}, backend_us = {}, proxy_us = {}, kthreads_us = {};
};

void measure(Row& r, int seconds, pid_t stream_pid, pid_t backend_pid) {
  auto proxy_cpu = [&] { return r.proxy == 1 ? self_cpu() : r.proxy == 2 ? pid_cpu(stream_pid) : 0; };
  const double p0 = proxy_cpu(), b0 = pid_cpu(backend_pid), w0 = children_cpu();
  const double k0 = kthreads_cpu();
  const Wrk w = wrk(r.url, seconds);
  const double p1 = proxy_cpu(), b1 = pid_cpu(backend_pid), w1 = children_cpu();
  const double k1 = kthreads_cpu();
  r.rps.push_back(w.rps);
  const double n = w.requests > 0 ? w.requests : 1;
  r.wrk_us.push_back((w1 - w0) * 1e6 / n);
  r.backend_us.push_back((b1 - b0) * 1e6 / n);
  r.proxy_us.push_back((p1 - p0) * 1e6 / n);
  r.kthreads_us.push_back((k1 - k0) * 1e6 / n);
}

std::string spread(const std::vector<double>& v, const char* fmt) {
  if (v.empty()) return "-";
  char buf[96];
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  std::string f = std::string(fmt) + " [" + fmt + "-" + fmt + "]";
  std::snprintf(buf, sizeof buf, f.c_str(), median(v), *lo, *hi);
  return buf;
}

void print(const std::vector<Row>& rows) {
  const Row& d = rows[0];
  const double cpus = static_cast<double>(::sysconf(_SC_NPROCESSORS_ONLN));
  const double direct_cpu = median(d.wrk_us) + median(d.backend_us);
  for (const Row& r : rows) {
    std::vector<double> ratios;
    for (size_t i = 0; i < r.rps.size(); ++i) ratios.push_back(ratio(r.rps[i], d.rps[i]));
    const double cpu = median(r.wrk_us) + median(r.backend_us) + median(r.proxy_us);
    std::printf("  %-22s %-24s ratio %-17s cpu %5.1f %5.1f %6.1f  cpu-limit %.2f  ceiling %.2f"
                "  kthreads %5.1f  ceiling+k %.2f  ceiling-wb %.2f\n",
                r.label.c_str(), spread(r.rps, "%.0f").c_str(), spread(ratios, "%.2f").c_str(),
                median(r.wrk_us), median(r.backend_us), median(r.proxy_us),
                ratio(cpus * 1e6 / cpu, median(d.rps)), ratio(direct_cpu, cpu),
                median(r.kthreads_us),
                ratio(direct_cpu + median(d.kthreads_us), cpu + median(r.kthreads_us)),
                ratio(direct_cpu, median(r.wrk_us) + median(r.backend_us)));
  }
}

bool write(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return bool(f);
}

Result<Child> nginx(const std::string& dir, const std::string& name, const std::string& conf, int cpu) {
  const std::string path = dir + "/" + name + ".conf";
  write(path, conf);
  std::filesystem::create_directories(dir + "/" + name);
  SpawnOptions o;
  o.argv = on_cpu(cpu, {"nginx", "-p", dir + "/" + name, "-c", path, "-g", "daemon off;"});
  o.stderr_mode = Output::inherit;
  o.kill_with_parent = true;
  return spawn(o);
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 3;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::string only = argc > 3 ? argv[3] : "";  // keep rows whose label has this (+ direct)
  if (pinned()) {
    // This process runs the ingress and relay threads (they inherit it); children are pinned
    // by taskset. Needs 2 CPUs.
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(1, &one);
    if (::sched_setaffinity(0, sizeof one, &one) != 0) {
      std::fprintf(stderr, "SEED_BENCH_PINNED: cannot pin to CPU 1: %s\n", std::strerror(errno));
      return 1;
    }
  }
  seed::testing::TempDir dir;
  const std::string d = dir.path();
  if (!net::ingress::testing::make_cert(d, "localhost")) {
    std::fprintf(stderr, "openssl req failed\n");
    return 1;
  }
  std::filesystem::create_directories(d + "/www");
  write(d + "/www/small", "hello from the backend\n");
  write(d + "/www/big", std::string(256 * 1024, 'x'));

  const uint16_t http_port = net::ingress::testing::free_port();
  const uint16_t https_port = net::ingress::testing::free_port();
  const uint16_t stream_port = net::ingress::testing::free_port();
  const std::string common = "user root;\nmaster_process off;\nerror_log stderr error;\n"
                             "pid " + d + "/%s.pid;\nevents { worker_connections 4096; }\n";
  auto header = [&](const std::string& name) {
    std::string c = common;
    c.replace(c.find("%s"), 2, name);
    return c;
  };
  auto backend = nginx(d, "backend",
      header("backend") +
      "http {\n access_log off;\n keepalive_requests 1000000;\n"
      " server { listen 127.0.0.1:" + std::to_string(http_port) + "; root " + d + "/www; }\n"
      " server { listen 127.0.0.1:" + std::to_string(https_port) + " ssl; root " + d + "/www;\n"
      "  ssl_certificate " + d + "/localhost.pem; ssl_certificate_key " + d + "/localhost.key; }\n"
      "}\n", 0);
  auto stream = nginx(d, "stream",
      "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n" + header("stream") +
      "stream {\n map $ssl_preread_server_name $up { localhost 127.0.0.1:" +
      std::to_string(https_port) + "; default 127.0.0.1:1; }\n"
      " server { listen 127.0.0.1:" + std::to_string(stream_port) +
      "; ssl_preread on; proxy_pass $up; }\n}\n", 1);
  if (!backend || !stream) {
    std::fprintf(stderr, "nginx did not start (apt-get install nginx libnginx-mod-stream)\n");
    return 1;
  }
  for (uint16_t p : {http_port, https_port, stream_port}) {
    if (!net::ingress::testing::wait_accepting(p, 5s)) {
      std::fprintf(stderr, "nginx is not accepting on %u\n", p);
      return 1;
    }
  }

  // The ingress (splice data path, the product default) and, on the same backends, the
  // minimal relays: the cost floor of any extra hop, and the io_uring evaluation.
  // Two ingresses: Linux's default pipe capacity (64 KiB) and the ingress default (256 KiB).
  const size_t pipe_sizes[] = {64 * 1024, 256 * 1024};
  std::vector<std::unique_ptr<Server>> ingresses;
  for (size_t pipe_bytes : pipe_sizes) {
    ServerConfig cfg;
    cfg.listeners = {{"127.0.0.1", 0, 80, Protocol::http}, {"127.0.0.1", 0, 443, Protocol::tls}};
    cfg.pipe_bytes = pipe_bytes;
    auto server = Server::start(cfg);
    if (!server) {
      std::fprintf(stderr, "%s\n", server.error().describe().c_str());
      return 1;
    }
    DesiredRoutes routes;
    routes.ports[80]["localhost"] = {"127.0.0.1", http_port};
    routes.ports[443]["localhost"] = {"127.0.0.1", https_port};
    if (auto st = (*server)->set_routes(routes); !st) return 1;
    ingresses.push_back(std::move(*server));
  }
  const RelayKind kinds[] = {RelayKind::epoll_splice, RelayKind::uring_splice,
                             RelayKind::uring_recv_send, RelayKind::sockmap};
  std::vector<std::unique_ptr<Relay>> relays;  // [kind][http, https]; null: unavailable
  std::vector<std::string> unavailable(std::size(kinds));  // why, per kind
  for (size_t k = 0; k < std::size(kinds); ++k) {
    for (uint16_t backend_port : {http_port, https_port}) {
      auto r = start_relay(kinds[k], backend_port);
      // Only sockmap may be missing (no BPF privileges or kernel support): its rows then say
      // so in every table instead of vanishing. Any other relay failing is a broken setup.
      if (!r && kinds[k] != RelayKind::sockmap) {
        std::fprintf(stderr, "%s\n", r.error().describe().c_str());
        return 1;
      }
      if (!r) unavailable[k] = r.error().describe();
      relays.push_back(r ? std::move(*r) : nullptr);
    }
    if (!unavailable[k].empty()) {
      std::fprintf(stderr, "*** relay-%s UNAVAILABLE, its rows are not measured: %s\n",
                   std::string(to_string(kinds[k])).c_str(), unavailable[k].c_str());
    }
  }

  if (pinned()) {
    std::printf("PINNED (SEED_BENCH_PINNED=1): wrk and the backend on CPU 0, every forwarder on CPU 1; "
                "ratio = whether the forwarder limits throughput when its CPU is its own.\n");
  }
  std::printf("ingress benchmark: wrk -t1 -c32 -d%ds (same for every row) on loopback, %ld CPUs, "
              "load average %s at start.\nnginx backend (one process). Rows: direct; the "
              "ingress (epoll + splice, two pipe sizes); minimal relays with no routing "
              "(relay-*);\nnginx stream ssl_preread (https). %d interleaved rounds; req/s median "
              "[min-max]; ratio to direct per round, median [min-max];\ncpu us/req: wrk, "
              "backend, proxy; cpu-limit = the req/s all CPUs allow at that cpu/req (ignoring "
              "other load), over direct's req/s: near 1 on the direct row means direct is "
              "CPU-bound;\nceiling = direct cpu / this row's cpu (wrk+backend+proxy): the best "
              "ratio a CPU-bound run can reach;\nkthreads = kworker and ksoftirqd CPU us/req "
              "(where sockmap forwards; includes other load's), ceiling+k = the ceiling with "
              "them;\nceiling-wb = direct cpu / this row's wrk+backend cpu: the best ratio even "
              "with the forwarder's own CPU free (the extra\nloopback hop also costs wrk and "
              "the backend).\n",
              seconds, ::sysconf(_SC_NPROCESSORS_ONLN), loadavg().c_str(), rounds);
  const pid_t stream_pid = stream->pid(), backend_pid = backend->pid();
  for (const std::string file : {"small", "big"}) {
    for (const bool tls : {false, true}) {
      const std::string scheme = tls ? "https" : "http";
      const std::string base = scheme + "://localhost:";
      const std::string path = "/" + file;
      std::vector<Row> rows;
      rows.push_back({"direct", base + std::to_string(tls ? https_port : http_port) + path, 0});
      for (size_t i = 0; i < ingresses.size(); ++i) {
        rows.push_back({"ingress-pipe" + std::to_string(pipe_sizes[i] / 1024) + "k",
                        base + std::to_string(ingresses[i]->bound_port(tls ? 1 : 0)) + path, 1});
      }
      for (size_t k = 0; k < std::size(kinds); ++k) {
        if (!relays[2 * k]) continue;  // printed as unavailable below
        rows.push_back({"relay-" + std::string(to_string(kinds[k])),
                        base + std::to_string(relays[2 * k + (tls ? 1 : 0)]->port()) + path, 1});
      }
      if (tls) rows.push_back({"nginx-stream", base + std::to_string(stream_port) + path, 2});
      std::erase_if(rows, [&](const Row& r) {
        return r.proxy != 0 && r.label.find(only) == std::string::npos;
      });
      for (int round = 0; round < rounds; ++round) {
        for (auto& r : rows) measure(r, seconds, stream_pid, backend_pid);
      }
      std::printf("-- %s, %s response\n", scheme.c_str(), file == "small" ? "23 B" : "256 KiB");
      print(rows);
      for (size_t k = 0; k < std::size(kinds); ++k) {
        if (!unavailable[k].empty()) {
          std::printf("  %-22s *** UNAVAILABLE: %s\n",
                      ("relay-" + std::string(to_string(kinds[k]))).c_str(),
                      unavailable[k].c_str());
        }
      }
    }
  }
  std::printf("load average %s at the end\n", loadavg().c_str());
  relays.clear();
  ingresses.clear();
  backend->terminate(1s);
  stream->terminate(1s);
  return 0;
}
