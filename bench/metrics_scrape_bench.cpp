// /metrics on the admin listener at node scale: 1,000 instances across 100 sources (the scale
// of reconcile_scale_bench), each with one volume, through seedd's own collectors (NodeMetrics)
// and AdminRoutes on a real HttpServer on loopback, scraped over a plain socket.
//   /metrics: median of 20 scrapes, and its size.
//   peers on the same listener in the same run: GET /api/v1/status (the same instances as
//   `seedctl status --json` renders them) and a trivial route (the HTTP floor).
// The Service is a stand-in returning fixed views and usage: it cannot show what the engine's
// own status() or the /proc reads behind usage() cost (reconcile_scale_bench times the former).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "api/admin/admin_routes.hpp"
#include "api/http_server.hpp"
#include "bench_listener.hpp"
#include "seedd/node_metrics.hpp"

using namespace seed;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSources = 100, kPerSource = 10;

Error none() { return make_error(Errc::unavailable, "not in this benchmark"); }

class FixedService : public reconcile::Service {
 public:
  FixedService() {
    for (int s = 0; s < kSources; ++s) {
      reconcile::SourceView sv;
      const std::string ns = "tenant" + std::to_string(s);
      sv.record.canonical = "github:" + ns + "/app";
      sv.record.ns = ns;
      for (int i = 0; i < kPerSource; ++i) {
        reconcile::InstanceView v;
        v.id = {ns, "app" + std::to_string(i)};
        v.state = reconcile::InstanceState::running;
        v.generation = "g" + std::to_string(i);
        v.dns_names = {v.id.name + "." + ns + ".seed.example.org"};
        sv.instances.push_back(v);
        reconcile::InstanceUsage u;
        u.id = v.id;
        u.source = sv.record.canonical;
        u.cpu_seconds = 12.5 + i;
        u.memory_bytes = (512ull << 20) + i;
        u.volumes.push_back({"data", 1ull << 30, 123456789});
        usage_.push_back(u);
      }
      views_.push_back(sv);
    }
  }
  Result<reconcile::SourceView> plant(std::string_view, const std::string&, const reconcile::ProgressFn&) override {
    return none();
  }
  Status unplant(std::string_view) override { return none(); }
  Status trigger(std::string_view, std::string_view) override { return none(); }
  Result<reconcile::Webhook> webhook(std::string_view, bool) override { return none(); }
  Result<std::optional<std::string>> webhook_secret(const std::string&) override { return none(); }
  Status trigger_webhook(const std::string&, std::string_view) override { return none(); }
  Result<std::vector<reconcile::SourceView>> status(std::optional<std::string_view>) override { return views_; }
  Result<std::string> authorized_keys(std::string_view) override { return none(); }
  Status restart(const reconcile::InstanceId&, const reconcile::ProgressFn&) override { return none(); }
  Result<std::vector<reconcile::LogEntry>> logs(const reconcile::InstanceId&, const reconcile::LogQuery&) override {
    return none();
  }
  Status follow_logs(const reconcile::InstanceId&, const reconcile::LogQuery&,
                     const std::function<void(const reconcile::LogEntry&)>&, const std::atomic<bool>&) override {
    return none();
  }
  Result<std::string> tpm_recipient(const reconcile::InstanceId&) override { return none(); }
  Result<std::vector<reconcile::InstanceUsage>> usage() override { return usage_; }
  Result<std::vector<reconcile::QuarantineEntry>> quarantine_list() override { return none(); }
  Result<int> quarantine_clear(std::optional<std::string>) override { return none(); }
  Result<reconcile::Invite> create_invite(unsigned, int64_t) override { return none(); }
  Status consume_invite(const std::string&) override { return none(); }
  Result<reconcile::AddressOwner> instance_by_address(std::string_view) override { return none(); }

 private:
  std::vector<reconcile::SourceView> views_;
  std::vector<reconcile::InstanceUsage> usage_;
};

// One GET over a fresh connection, read to the close; the whole reply's size.
size_t get(uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return ::close(fd), 0;
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  size_t total = 0;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) total += static_cast<size_t>(n);
  ::close(fd);
  return total;
}

double median_ms(uint16_t port, const std::string& path, size_t* bytes, int runs = 20) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    *bytes = get(port, path);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main() {
  FixedService service;
  metrics::Registry registry;
  seedd::NodeMetrics collectors(registry, {.service = &service});
  api::admin::UsageHistory usage;
  api::admin::AdminRoutes admin(service, registry, usage);
  api::Router routes;
  admin.add_routes(routes);
  uint16_t port = 0;
  auto server = bench::start_bench_listener("admin", std::move(routes), "GET", "/bench/trivial", &port);
  if (!server) return std::fprintf(stderr, "%s\n", server.error().describe().c_str()), 1;

  size_t metrics_bytes = 0, status_bytes = 0, trivial_bytes = 0;
  const double metrics_ms = median_ms(port, "/metrics", &metrics_bytes);
  const double status_ms = median_ms(port, "/api/v1/status", &status_bytes);
  const double trivial_ms = median_ms(port, "/bench/trivial", &trivial_bytes);
  std::printf("/metrics scrape: %d sources, %d instances (median of 20, one connection each)\n", kSources,
              kSources * kPerSource);
  std::printf("  /metrics         %7.2f ms  %8zu bytes\n", metrics_ms, metrics_bytes);
  std::printf("  /api/v1/status   %7.2f ms  %8zu bytes   /metrics is %.2fx its time, %.2fx its size\n", status_ms,
              status_bytes, metrics_ms / std::max(status_ms, 1e-3),
              static_cast<double>(metrics_bytes) / std::max<size_t>(status_bytes, 1));
  std::printf("  trivial route    %7.2f ms  %8zu bytes   /metrics is %.1fx its time\n", trivial_ms, trivial_bytes,
              metrics_ms / std::max(trivial_ms, 1e-3));
  return metrics_bytes > 0 && status_bytes > 0 ? 0 : 1;
}
