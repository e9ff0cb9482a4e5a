// The listener the HTTP benchmarks measure on: the routes under test plus a trivial route, the
// HTTP floor they are compared with, on one real HttpServer on loopback with the request rate
// limit off (a benchmark sends faster than any one client may).
#pragma once

#include <memory>
#include <string>

#include "api/http_server.hpp"
#include "api/testing/listen.hpp"

namespace seed::bench {

inline Result<std::unique_ptr<api::HttpServer>> start_bench_listener(const std::string& name, api::Router routes,
                                                                     const std::string& trivial_method,
                                                                     const std::string& trivial_path, uint16_t* port) {
  routes.add(trivial_method, trivial_path, [](const api::Request&) {
    api::Response r;
    r.content_type = "text/plain";
    r.body = "ok\n";
    return r;
  });
  UniqueFd socket = api::testing::listen_loopback(port);
  std::vector<api::Listener> listeners;
  listeners.push_back({name, std::move(socket), std::move(routes)});
  api::HttpLimits limits;
  limits.requests_per_second = 0;
  return api::HttpServer::start(std::move(listeners), limits);
}

}  // namespace seed::bench
