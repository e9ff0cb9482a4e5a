#include "net/ingress/responses.hpp"

#include <cstdint>

namespace seed::net::ingress {

namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

}  // namespace

std::string error_response(int status, std::string_view detail) {
  std::string body = "seed ingress: ";
  body += detail;
  body += "\n";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out += reason_phrase(status);
  out += "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += "\r\nConnection: close\r\n\r\n";
  out += body;
  return out;
}

std::string unknown_host_response(std::string_view host, uint16_t public_port) {
  std::string detail = "no instance on this node serves '";
  detail += host.substr(0, 253);
  detail += "' on port " + std::to_string(public_port) +
            ". If it is yours, check that the instance is running and that seed.expose lists "
            "this port with the right protocol.";
  return error_response(404, detail);
}

}  // namespace seed::net::ingress
