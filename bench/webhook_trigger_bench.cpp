// A forge's webhook delivery to the start of a deploy, median over 20 deliveries: a signed
// GitHub push (HMAC-SHA256, 20 distinct delivery ids) posted over a fresh loopback connection to
// WebhookRoutes on a real HttpServer, timed from just before the client connects to the moment
// the route calls its trigger (in seedd: Engine::trigger_webhook, which queues the deploy), and
// to the reply's end. Peer on the same listener in the same run: a trivial POST route answering
// 200 (the HTTP floor). The trigger here only records the time: the engine's queueing and the
// deploy itself are not in these numbers (reconcile's benches and vm_start_bench cover those).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "api/http_server.hpp"
#include "bench_listener.hpp"
#include "api/webhook/delivery.hpp"
#include "api/webhook/webhook_routes.hpp"

using namespace seed;
using Clock = std::chrono::steady_clock;

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// One POST over a fresh connection, read to the close; whether the status was `want`.
bool post(uint16_t port, const std::string& path, const std::vector<std::string>& headers, const std::string& body,
          const std::string& want) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return ::close(fd), false;
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: hooks.example.org\r\nConnection: close\r\n" +
                    "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  req += "\r\n" + body;
  (void)!::write(fd, req.data(), req.size());
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return reply.rfind("HTTP/1.1 " + want, 0) == 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  constexpr int kRuns = 20;
  const std::string secret = "bench-secret";
  // Written by the listener's thread, read here after the reply: atomics, not a data race.
  std::atomic<Clock::rep> triggered_at{0};
  std::atomic<int> triggers{0};
  api::webhook::WebhookRoutes hooks({
      .secret = [&](const std::string& hook) -> std::optional<std::string> {
        return hook == "h-bench" ? std::optional(secret) : std::nullopt;
      },
      .trigger = [&](const std::string&, const std::string&) -> Status {
        triggered_at = Clock::now().time_since_epoch().count();
        ++triggers;
        return {};
      },
  });
  api::Router routes;
  hooks.add_routes(routes);
  uint16_t port = 0;
  auto server = bench::start_bench_listener("public", std::move(routes), "POST", "/bench/trivial", &port);
  if (!server) return std::fprintf(stderr, "%s\n", server.error().describe().c_str()), 1;

  const std::string body = R"({"ref":"refs/heads/main","repository":{"default_branch":"main"}})";
  std::vector<double> to_trigger, to_reply, trivial;
  for (int i = 0; i < kRuns; ++i) {
    const std::vector<std::string> headers = {"X-GitHub-Event: push", "X-GitHub-Delivery: bench-" + std::to_string(i),
                                              "X-Hub-Signature-256: sha256=" + api::webhook::hmac_sha256_hex(secret, body)};
    const int before = triggers.load();
    const auto t0 = Clock::now();
    if (!post(port, "/webhook/h-bench", headers, body, "202") || triggers != before + 1) {
      return std::fprintf(stderr, "delivery %d was not accepted and triggered once\n", i), 1;
    }
    to_reply.push_back(ms_between(t0, Clock::now()));
    to_trigger.push_back(ms_between(t0, Clock::time_point(Clock::duration(triggered_at.load()))));
    const auto t1 = Clock::now();
    if (!post(port, "/bench/trivial", {}, body, "200")) return std::fprintf(stderr, "the trivial route failed\n"), 1;
    trivial.push_back(ms_between(t1, Clock::now()));
  }
  const double trig = median(to_trigger), reply = median(to_reply), floor = median(trivial);
  std::printf("webhook delivery -> deploy trigger (GitHub push, signed; median of %d, one connection each)\n", kRuns);
  std::printf("  to the trigger     %6.3f ms   %.2fx the trivial route's whole round trip\n", trig,
              trig / std::max(floor, 1e-6));
  std::printf("  to the 202's end   %6.3f ms   %.2fx the trivial route\n", reply, reply / std::max(floor, 1e-6));
  std::printf("  trivial POST 200   %6.3f ms\n", floor);
  return 0;
}
