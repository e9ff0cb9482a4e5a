// The small HTTP answers the ingress gives itself when it cannot forward a request: each says
// what went wrong, for which name, and what the tenant or client can do about it.
#pragma once

#include <string>
#include <string_view>

namespace seed::net::ingress {

// A complete HTTP/1.1 response with `Connection: close` and a short plain-text body.
std::string error_response(int status, std::string_view detail);

// The 404 page for a hostname no instance serves on this port.
std::string unknown_host_response(std::string_view host, uint16_t public_port);

}  // namespace seed::net::ingress
