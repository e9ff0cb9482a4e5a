// Benchmark: the ingress data path against going straight to the backend, and against
// nginx's stream proxy with ssl_preread (the usual way to route TLS by SNI without
// terminating it), all on loopback, measured with wrk in one run.
//   http:  wrk → ingress (Host routing) → nginx   vs  wrk → nginx
//   https: wrk → ingress (SNI routing) → nginx    vs  wrk → nginx  vs  wrk → nginx stream → nginx
// Each with a small response (request rate) and a 256 KiB one (throughput); args: seconds per
// run, rounds (median). The name is
// "localhost" so wrk's own resolver and SNI agree with the route. Prints, never asserts.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
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

namespace {

using namespace seed;
using namespace seed::net::ingress;
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

Wrk wrk(const std::string& url, int seconds) {
  SpawnOptions o;
  o.argv = {"wrk", "-t1", "-c32", "-d" + std::to_string(seconds) + "s", url};
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

bool write(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  return bool(f);
}

Result<Child> nginx(const std::string& dir, const std::string& name, const std::string& conf) {
  const std::string path = dir + "/" + name + ".conf";
  write(path, conf);
  std::filesystem::create_directories(dir + "/" + name);
  SpawnOptions o;
  o.argv = {"nginx", "-p", dir + "/" + name, "-c", path, "-g", "daemon off;"};
  o.stderr_mode = Output::inherit;
  o.kill_with_parent = true;
  return spawn(o);
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 3;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
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
      "}\n");
  auto stream = nginx(d, "stream",
      "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n" + header("stream") +
      "stream {\n map $ssl_preread_server_name $up { localhost 127.0.0.1:" +
      std::to_string(https_port) + "; default 127.0.0.1:1; }\n"
      " server { listen 127.0.0.1:" + std::to_string(stream_port) +
      "; ssl_preread on; proxy_pass $up; }\n}\n");
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

  // Two ingresses on the same backends: the recv/send data path and the splice one.
  std::unique_ptr<Server> servers[2];
  std::string ing_http[2], ing_tls[2];
  for (int i = 0; i < 2; ++i) {
    ServerConfig cfg;
    cfg.listeners = {{"127.0.0.1", 0, 80, Protocol::http}, {"127.0.0.1", 0, 443, Protocol::tls}};
    cfg.splice = i == 1;
    auto server = Server::start(cfg);
    if (!server) {
      std::fprintf(stderr, "%s\n", server.error().describe().c_str());
      return 1;
    }
    DesiredRoutes routes;
    routes.ports[80]["localhost"] = {"127.0.0.1", http_port};
    routes.ports[443]["localhost"] = {"127.0.0.1", https_port};
    if (auto st = (*server)->set_routes(routes); !st) return 1;
    servers[i] = std::move(*server);
    ing_http[i] = std::to_string(servers[i]->bound_port(0));
    ing_tls[i] = std::to_string(servers[i]->bound_port(1));
  }

  std::printf("ingress benchmark: wrk -t1 -c32 -d%ds on loopback, nginx backend (one process); "
              "R = ingress recv/send, S = ingress splice.\n"
              "Median of %d interleaved rounds; cpu = proxy CPU time per request (steadier than "
              "req/s on a shared machine).\n", seconds, rounds);
  const pid_t stream_pid = stream->pid();
  const std::string h = "http://localhost:", t = "https://localhost:";
  for (const std::string file : {"small", "big"}) {
    struct Config {
      std::string label, url;
      int cpu;  // 0: none (direct), 1: this process (the ingress), 2: the nginx stream proxy
      std::vector<double> rps, cpu_us;
    };
    std::vector<Config> configs = {
        {"http direct", h + std::to_string(http_port) + "/" + file, 0, {}, {}},
        {"http R", h + ing_http[0] + "/" + file, 1, {}, {}},
        {"http S", h + ing_http[1] + "/" + file, 1, {}, {}},
        {"https direct", t + std::to_string(https_port) + "/" + file, 0, {}, {}},
        {"https R", t + ing_tls[0] + "/" + file, 1, {}, {}},
        {"https S", t + ing_tls[1] + "/" + file, 1, {}, {}},
        {"https nginx-stream", t + std::to_string(stream_port) + "/" + file, 2, {}, {}},
    };
    for (int round = 0; round < rounds; ++round) {
      for (auto& c : configs) {
        const double before = c.cpu == 1 ? self_cpu() : c.cpu == 2 ? pid_cpu(stream_pid) : 0;
        const Wrk w = wrk(c.url, seconds);
        const double after = c.cpu == 1 ? self_cpu() : c.cpu == 2 ? pid_cpu(stream_pid) : 0;
        c.rps.push_back(w.rps);
        if (w.requests > 0) c.cpu_us.push_back((after - before) * 1e6 / w.requests);
      }
    }
    std::printf("-- %s response (%s)\n", file.c_str(), file == "small" ? "23 B" : "256 KiB");
    for (auto& c : configs) {
      std::printf("  %-20s %9.0f req/s", c.label.c_str(), median(c.rps));
      if (c.cpu != 0) std::printf("  cpu %6.1f us/req", median(c.cpu_us));
      std::printf("\n");
    }
    auto m = [&](int i) { return median(configs[static_cast<size_t>(i)].rps); };
    auto cpu = [&](int i) { return median(configs[static_cast<size_t>(i)].cpu_us); };
    std::printf("  ratios: http R/direct %.2f  S/direct %.2f | https R/direct %.2f  "
                "S/direct %.2f  nginx/direct %.2f | R/nginx %.2f  S/nginx %.2f | "
                "cpu per request R/nginx %.2f  S/nginx %.2f  S/R %.2f\n",
                ratio(m(1), m(0)), ratio(m(2), m(0)), ratio(m(4), m(3)), ratio(m(5), m(3)),
                ratio(m(6), m(3)), ratio(m(4), m(6)), ratio(m(5), m(6)), ratio(cpu(4), cpu(6)),
                ratio(cpu(5), cpu(6)), ratio(cpu(5), cpu(4)));
  }
  for (auto& s : servers) s->stop();
  backend->terminate(1s);
  stream->terminate(1s);
  return 0;
}
