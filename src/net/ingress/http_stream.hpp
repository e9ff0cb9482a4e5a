// Follows the client → backend half of a plain-HTTP connection with http-parser (the Node.js
// HTTP/1.x parser), to find the Host of each request and decide which bytes may go on.
//
// Routing choice: a keep-alive connection is pinned to the backend chosen by its first
// request. Later requests are still parsed; when one names a different Host, nothing from it
// on is forwarded and the proxy closes the connection after the earlier responses (clients
// retry on a new connection, which is then routed afresh). Pipelined requests for the same
// Host flow through unchanged. After an Upgrade (WebSocket) or CONNECT, bytes are opaque and
// all of them are forwarded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace seed::net::ingress {

struct HttpLimits {
  size_t max_head_bytes = 16 * 1024;  // request line + headers; beyond it: 431
};

class HttpStream {
 public:
  enum class State {
    head,         // still reading the first request's head
    routed,       // first Host known: forward committed() bytes
    host_changed, // a later request named another Host: forward committed(), then close
    failed,       // error_status() says what to answer (only before routing) / close after
  };

  explicit HttpStream(HttpLimits limits = {});
  ~HttpStream();
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  // Feeds the next bytes received from the client.
  State feed(std::string_view data);

  State state() const { return state_; }
  // The first request's host, normalized (port removed, lower case). Valid once routed.
  const std::string& host() const { return host_; }
  // Total bytes (since the start of the connection) that may be forwarded to the backend.
  uint64_t committed() const;
  // For State::failed: 400, 431, 505; and a one-line reason for the error page and log.
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }

 private:
  struct Impl;
  void fail(int status, std::string reason);
  void on_head_complete();

  std::unique_ptr<Impl> impl_;
  HttpLimits limits_;
  State state_ = State::head;
  std::string host_;
  int error_status_ = 0;
  std::string error_reason_;
  uint64_t fed_ = 0;          // bytes consumed by the parser
  uint64_t head_start_ = 0;   // where the request whose head is being read began
  bool in_head_ = true;
  bool tunnel_ = false;       // after Upgrade/CONNECT: everything is committed
};

}  // namespace seed::net::ingress
