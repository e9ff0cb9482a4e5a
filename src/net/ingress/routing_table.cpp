#include "net/ingress/routing_table.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <cstring>

namespace seed::net::ingress {

std::string_view to_string(Protocol protocol) {
  return protocol == Protocol::http ? "http" : "tls";
}

std::string normalize_host(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  std::string out(host);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool valid_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (c == '.') {
      if (label == 0 || host[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const bool alnum = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (!alnum && !(c == '-' && label > 0) && c != '_') return false;
    if (++label > 63) return false;
  }
  return label > 0 && host.back() != '-';
}

namespace {

Result<Backend> parse_backend(const BackendAddr& in) {
  Backend b;
  if (in.port == 0) {
    return make_error(Errc::invalid_argument, "ingress backend port is 0")
        .with("backend", in.ip)
        .with("hint", "give the instance's exposed port");
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&b.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&b.addr);
  if (::inet_pton(AF_INET, in.ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(in.port);
    b.addr_len = sizeof(sockaddr_in);
    b.text = in.ip + ":" + std::to_string(in.port);
  } else if (::inet_pton(AF_INET6, in.ip.c_str(), &v6->sin6_addr) == 1) {
    std::memset(&b.addr, 0, sizeof b.addr);
    ::inet_pton(AF_INET6, in.ip.c_str(), &v6->sin6_addr);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(in.port);
    b.addr_len = sizeof(sockaddr_in6);
    b.text = "[" + in.ip + "]:" + std::to_string(in.port);
  } else {
    return make_error(Errc::invalid_argument, "ingress backend is not an IP address")
        .with("backend", in.ip)
        .with("hint", "use the instance's IPv4 or IPv6 address on the bridge");
  }
  b.local = in.local;
  if (!b.local.empty()) b.text = b.local + " (" + b.text + ")";
  return b;
}

}  // namespace

Result<std::shared_ptr<const RoutingTable>> RoutingTable::build(const DesiredRoutes& desired) {
  auto table = std::make_shared<RoutingTable>();
  for (const auto& [port, names] : desired.ports) {
    if (port == 0) return make_error(Errc::invalid_argument, "ingress route on public port 0");
    auto& out = table->ports_[port];
    for (const auto& [name, addr] : names) {
      const std::string host = normalize_host(name);
      if (!valid_hostname(host)) {
        return make_error(Errc::invalid_argument, "ingress route has an invalid hostname")
            .with("stage", "runtime")
            .with("port", std::to_string(port))
            .with("hostname", name)
            .with("hint", "use a DNS name such as web.ns.seed.example.org");
      }
      auto backend = parse_backend(addr);
      if (!backend) {
        return std::move(backend).error().with("port", std::to_string(port)).with("hostname", name);
      }
      if (!out.emplace(host, std::move(*backend)).second) {
        return make_error(Errc::conflict, "two ingress routes for the same hostname")
            .with("port", std::to_string(port))
            .with("hostname", host)
            .with("hint", "names are case-insensitive; give each instance its own name");
      }
    }
  }
  return std::shared_ptr<const RoutingTable>(std::move(table));
}

const Backend* RoutingTable::find(uint16_t public_port, std::string_view host) const {
  auto p = ports_.find(public_port);
  if (p == ports_.end()) return nullptr;
  auto h = p->second.find(host);
  return h == p->second.end() ? nullptr : &h->second;
}

size_t RoutingTable::size() const {
  size_t n = 0;
  for (const auto& [port, names] : ports_) n += names.size();
  return n;
}

}  // namespace seed::net::ingress
