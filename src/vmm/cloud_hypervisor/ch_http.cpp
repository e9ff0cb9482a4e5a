#include "vmm/cloud_hypervisor/ch_http.hpp"

#include <curl/curl.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/unix_socket.hpp"

namespace seed::vmm::ch {
namespace {

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Sink {
  std::string body;
  bool overflow = false;
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * count;
  if (sink->body.size() + n > kMaxResponseBytes) {
    sink->overflow = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  sink->body.append(data, n);
  return n;
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

std::string_view to_string(HttpMethod method) { return method == HttpMethod::get ? "GET" : "PUT"; }

ChHttpClient::ChHttpClient(std::string socket_path, HttpTimeouts timeouts)
    : socket_path_(std::move(socket_path)), timeouts_(timeouts) {}

Result<HttpResponse> ChHttpClient::request(HttpMethod method, std::string_view endpoint,
                                           const std::optional<std::string>& json_body,
                                           std::optional<std::chrono::milliseconds> total_timeout) const {
  const std::string ep(endpoint);
  const auto total = total_timeout.value_or(timeouts_.total);
  auto fail = [&](Errc code, const std::string& what) {
    return make_error(code, "cloud-hypervisor API " + std::string(to_string(method)) + " " + ep +
                                " on " + socket_path_ + ": " + what)
        .with("socket", socket_path_)
        .with("endpoint", ep);
  };
  if (auto st = check_socket_path(socket_path_); !st) {
    return fail(Errc::invalid_argument, std::move(st).error().message);
  }

  std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  if (!handle) return fail(Errc::internal, "curl_easy_init failed");
  CURL* h = handle.get();

  const std::string url = "http://localhost/api/v1/" + ep;
  char errbuf[CURL_ERROR_SIZE] = {};
  Sink sink;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const char* line) {
    headers.reset(curl_slist_append(headers.release(), line));
  };
  add_header("Accept: application/json");
  // curl would otherwise wait for "100 Continue" before sending a larger body; CH's HTTP
  // server never sends one.
  add_header("Expect:");

  curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  // An http_proxy in seedd's environment must never divert calls meant for a local socket.
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  // Timeouts without SIGALRM: seedd is multi-threaded.
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeouts_.connect.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(total.count()));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  if (method == HttpMethod::put) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    if (json_body) {
      add_header("Content-Type: application/json");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json_body->size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body->c_str());
    }
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    Error err = [&] {
      switch (rc) {
        case CURLE_COULDNT_CONNECT:
          if (os_errno == ENOENT) {
            return fail(Errc::unavailable, "the socket does not exist (is the VMM running?)");
          }
          return fail(Errc::unavailable, std::string("nobody is listening (") +
                                             std::strerror(static_cast<int>(os_errno)) +
                                             "; the VMM has probably exited)");
        case CURLE_OPERATION_TIMEDOUT:
          return fail(Errc::timeout, "no complete answer within " + ms(total) +
                                         " (the VMM is hung or overloaded)");
        case CURLE_GOT_NOTHING:
          return fail(Errc::unavailable,
                      "the connection was closed without an answer (the VMM probably exited)");
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
          return fail(Errc::unavailable,
                      "the connection broke (" + detail + "; the VMM probably exited)");
        case CURLE_PARTIAL_FILE:
          return fail(Errc::protocol, "truncated response: the connection closed after " +
                                          std::to_string(sink.body.size()) +
                                          " bytes of the body (the VMM may have exited)");
        case CURLE_WRITE_ERROR:
          if (sink.overflow) {
            return fail(Errc::protocol, "response larger than " +
                                            std::to_string(kMaxResponseBytes) + " bytes");
          }
          return fail(Errc::internal, detail);
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_UNSUPPORTED_PROTOCOL:  // our URL is fixed http://: this is an HTTP/0.9 reply
          return fail(Errc::protocol, "malformed HTTP response (" + detail + ")");
        case CURLE_OUT_OF_MEMORY:
        case CURLE_URL_MALFORMAT:
          return fail(Errc::internal, detail);
        default:
          return fail(Errc::protocol, detail);
      }
    }();
    return std::move(err).with("curl_error", detail);
  }

  HttpResponse response;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  char* content_type = nullptr;
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &content_type);
  if (content_type != nullptr) response.content_type = content_type;
  response.body = std::move(sink.body);
  return response;
}

}  // namespace seed::vmm::ch
