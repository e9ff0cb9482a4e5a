// The routes of one listener: method + path pattern → handler. A pattern is literal segments
// and `*` segments (one path segment each, captured into Request::params), e.g.
// "/acme/order/*". A final `**` matches the rest of the path, zero or more segments, captured as
// one parameter with its slashes ("/repo/tree/*/**": "/repo/tree/main" → "", ".../main/a/b" →
// "a/b"); the handler validates it. One listener's router is its whole surface: a route added to the guest
// listener can never answer on the public or admin one, because each listener owns its own
// Router (DESIGN.md §11).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/http_types.hpp"

namespace seed::api {

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  // Adds a route; a later route with the same method and pattern is a programming error
  // (throws std::logic_error: routes are fixed when seedd starts).
  // `max_body_bytes` (0: the listener's HttpLimits) lets one route take larger bodies than the
  // rest of its listener, e.g. git's fetch negotiation, whose `have` list grows with the refs.
  Router& add(std::string method, std::string pattern, Handler handler, size_t max_body_bytes = 0);

  // The body limit of the route that would answer this method and path; `fallback` when that
  // route has none of its own or no route matches (the request then gets its 404/405 anyway).
  size_t max_body_bytes(const std::string& method, const std::string& path, size_t fallback) const;

  // The handler's response; 404 (no route for the path) or 405 with `Allow` (the path exists
  // under other methods), both as problem documents. HEAD falls back to GET's handler.
  Response dispatch(Request& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
    size_t max_body_bytes = 0;
  };
  static bool match(const Route& route, const std::vector<std::string>& segments, std::vector<std::string>* params);
  std::vector<Route> routes_;
};

}  // namespace seed::api
