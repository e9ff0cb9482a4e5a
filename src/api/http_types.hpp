// What the API's handlers see and return: one HTTP request, already read whole and bounded by
// the server's limits, and one response. Handlers never touch libmicrohttpd.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace seed::api {

struct Request {
  std::string method;  // "GET", "HEAD", "POST", …
  std::string path;    // decoded path without the query
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string source;  // the peer's address ("10.100.0.2", "::1"), no port
  std::string listener;  // which listener took it ("guest", "public", "admin")
  // The parts of the path that a route's `*` segments matched, in order.
  std::vector<std::string> params;

  // A header's value, or "" when absent (names are matched case-insensitively).
  std::string header(const std::string& name) const;
};

// A body made while it is sent (a tarball from `git archive`, git's pack from
// git-http-backend), so it is never held whole in memory. The server calls read() whenever the
// client can take more: it fills up to `max` bytes and returns how many, 0 at the end, -1 on a
// failure (the server then cuts the connection, so the client sees a broken transfer, never a
// short file that looks whole). read() may block, bounded by the stream itself: it runs on one
// of the listener's threads. The stream is destroyed when the response is done or abandoned
// (a client that goes away), which is where a producer process is stopped.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual ssize_t read(char* buf, size_t max) = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body is this stream (sent chunked, its length unknown) and `body` is unused.
  std::shared_ptr<BodyStream> stream;

  Response& with_header(std::string name, std::string value) & {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Response&& with_header(std::string name, std::string value) && {
    headers.emplace_back(std::move(name), std::move(value));
    return std::move(*this);
  }
};

// An RFC 7807 problem document (application/problem+json). `type` is a URI (ACME's are
// "urn:ietf:params:acme:error:<name>"); `detail` says what was wrong and what to do.
Response problem(int status, std::string type, std::string detail);

}  // namespace seed::api
