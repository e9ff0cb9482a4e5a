// HTTP/1.1 over Cloud Hypervisor's API Unix socket, through libcurl.
//
// This layer knows nothing about CH's endpoints: it sends one request and returns the status
// and body, or one Error saying what went wrong on the wire. Every error names the socket and
// the endpoint, and its code says what the caller can conclude:
//   unavailable  nobody listens, or the peer closed without answering (the VMM is gone)
//   timeout      connected, but no complete answer within the deadline (the VMM hangs)
//   protocol     an answer came but is not usable HTTP (truncated, malformed, oversized)
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::vmm::ch {

enum class HttpMethod { get, put };
std::string_view to_string(HttpMethod method);

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string content_type;
};

struct HttpTimeouts {
  // Connecting to a Unix socket either works at once or not at all; keep this short.
  std::chrono::milliseconds connect{2000};
  // The whole exchange. Most CH calls answer in milliseconds; vm.boot, vm.snapshot and
  // vm.restore copy or map guest memory and get a per-call deadline from the caller.
  std::chrono::milliseconds total{30000};
};

class ChHttpClient {
 public:
  explicit ChHttpClient(std::string socket_path, HttpTimeouts timeouts = {});

  // `endpoint` is the last path component, e.g. "vm.info" (sent as /api/v1/vm.info).
  // A PUT without a body sends no body at all: CH rejects a body on endpoints that take none.
  Result<HttpResponse> request(HttpMethod method, std::string_view endpoint,
                               const std::optional<std::string>& json_body = std::nullopt,
                               std::optional<std::chrono::milliseconds> total_timeout = {}) const;

  const std::string& socket_path() const { return socket_path_; }
  const HttpTimeouts& timeouts() const { return timeouts_; }

 private:
  std::string socket_path_;
  HttpTimeouts timeouts_;
};

// CH's answers are small JSON documents (vm.info is the largest, a few KiB); anything beyond
// this is not CH talking and is refused instead of buffered.
inline constexpr size_t kMaxResponseBytes = 8 * 1024 * 1024;

}  // namespace seed::vmm::ch
