#include "reconcile/health_check.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "common/fd.hpp"
#include "common/metrics.hpp"
#include "vmm/agent_client.hpp"

namespace seed::reconcile {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

milliseconds left(const HealthTarget& t) {
  return std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(t.deadline - Clock::now()));
}

bool tcp_accepts(const std::string& ip, uint16_t port, milliseconds timeout) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (!fd || ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) return false;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(timeout.count(), 1000))) != 1) return false;
  int err = 0;
  socklen_t len = sizeof err;
  return ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

// "" when the URL answered 2xx/3xx, else what happened.
std::string http_probe(const std::string& url, milliseconds timeout) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return "libcurl could not start";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(std::min<int64_t>(timeout.count(), 5000)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return curl_easy_strerror(rc);
  if (status >= 200 && status < 400) return "";
  return "HTTP status " + std::to_string(status);
}

std::string shell_quote_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

// One try of the instance-specific part; "" on success, else what failed.
std::string probe_once(const HealthTarget& t, vmm::AgentClient& agent) {
  const InstanceMeta& meta = *t.meta;
  if (meta.health && meta.health->type == "http") {
    const std::string url = "http://" + t.ipv4 + ":" + std::to_string(meta.health->port) + meta.health->path;
    const std::string why = http_probe(url, left(t));
    return why.empty() ? "" : "GET " + url + ": " + why;
  }
  if (meta.health && meta.health->type == "command") {
    auto out = agent.call("sh " + shell_quote_join(meta.health->command), left(t));
    if (!out) return "the health command could not run: " + out.error().message;
    if (!out->empty() && out->back() == "rc 0") return "";
    return "the health command " + shell_quote_join(meta.health->command) + " ended with " +
           (out->empty() ? std::string("no status") : out->back());
  }
  for (const auto& [entry, e] : meta.expose) {
    if (std::find(e.transports.begin(), e.transports.end(), "tcp") == e.transports.end()) continue;
    if (!tcp_accepts(t.ipv4, e.port, left(t))) {
      return "exposed port " + entry + " (" + t.ipv4 + ":" + std::to_string(e.port) + "/tcp) does not accept connections";
    }
  }
  return "";
}

// seed_health_check_seconds{kind, outcome}: how long one try of the instance's check took
// (http, command, or tcp for the exposed-ports default), passed or failed.
void observe_probe(const InstanceMeta& meta, bool passed, Clock::duration took) {
  const std::string kind = meta.health ? meta.health->type : "tcp";
  metrics::global()
      .histogram("seed_health_check_seconds", "Duration of one health-check try, by kind and outcome.",
                 {{"kind", kind}, {"outcome", passed ? "passed" : "failed"}},
                 {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
      .observe(std::chrono::duration<double>(took).count());
}

}  // namespace

Status await_healthy(const HealthTarget& t) {
  std::string last = "the guest agent did not answer";
  std::optional<vmm::AgentClient> agent;
  while (Clock::now() < t.deadline) {
    if (t.still_running) SEED_TRY(t.still_running());
    if (!agent) {
      auto c = vmm::AgentClient::connect(t.agent_socket, std::min(left(t), milliseconds(2000)));
      if (c) {
        auto pong = c->call("ping", std::min(left(t), milliseconds(2000)));
        if (pong && !pong->empty() && pong->front() == "pong") agent.emplace(std::move(*c));
      }
    }
    if (agent) {
      const auto tried = Clock::now();
      last = probe_once(t, *agent);
      observe_probe(*t.meta, last.empty(), Clock::now() - tried);
      if (last.empty()) return {};
    }
    std::this_thread::sleep_for(std::min(left(t), milliseconds(200)));
  }
  return make_error(Errc::timeout, "not healthy before its deadline: " + last).with("stage", "health");
}

}  // namespace seed::reconcile
