#include "net/expose_plan.hpp"

#include <map>
#include <utility>

namespace seed::net {

std::string_view to_string(L4 p) { return p == L4::tcp ? "tcp" : "udp"; }

std::string_view to_string(ExposeProtocol p) {
  switch (p) {
    case ExposeProtocol::tcp: return "tcp";
    case ExposeProtocol::udp: return "udp";
    case ExposeProtocol::dns: return "dns";
    case ExposeProtocol::http: return "http";
    case ExposeProtocol::https: return "https";
    case ExposeProtocol::grpc: return "grpc";
  }
  return "?";
}

namespace {

bool via_ingress(ExposeProtocol p) {
  return p == ExposeProtocol::http || p == ExposeProtocol::https || p == ExposeProtocol::grpc;
}

std::vector<L4> transports(ExposeProtocol p) {
  if (p == ExposeProtocol::udp) return {L4::udp};
  if (p == ExposeProtocol::dns) return {L4::udp, L4::tcp};
  return {L4::tcp};
}

struct Holder {
  bool ingress = false;
  size_t instance = 0;
};

}  // namespace

ExposePlan plan_exposes(const FirewallSpec& spec) {
  ExposePlan plan;
  std::map<std::pair<L4, uint16_t>, Holder> claimed;
  auto id_of = [&](size_t i) { return spec.instances[i].ns + "/" + spec.instances[i].name; };
  for (size_t i = 0; i < spec.instances.size(); ++i) {
    for (const auto& e : spec.instances[i].exposes) {
      bool ingress = via_ingress(e.protocol);
      auto wanted = transports(e.protocol);
      // The whole expose is refused if any of its transports is taken (dns needs both).
      const Holder* clash = nullptr;
      L4 clash_l4 = L4::tcp;
      for (L4 l4 : wanted) {
        auto it = claimed.find({l4, e.public_port});
        if (it != claimed.end() && !(ingress && it->second.ingress)) {
          clash = &it->second;
          clash_l4 = l4;
          break;
        }
      }
      if (clash) {
        std::string holder = clash->ingress ? "the ingress proxy (an http/https/grpc expose)"
                                            : id_of(clash->instance);
        std::string port = std::to_string(e.public_port) + "/" + std::string(to_string(clash_l4));
        plan.conflicts.push_back(
            make_error(Errc::conflict, "cannot expose public port " + port + " (" +
                                           std::string(to_string(e.protocol)) + ") for " +
                                           id_of(i) + ": it is already taken by " + holder +
                                           "; choose another public port in seed.expose")
                .with("instance", id_of(i))
                .with("port", port)
                .with("holder", holder)
                .with("stage", "network"));
        continue;
      }
      for (L4 l4 : wanted) claimed.emplace(std::pair{l4, e.public_port}, Holder{ingress, i});
      if (ingress) continue;  // the ingress proxy forwards these, not nftables
      for (L4 l4 : wanted) plan.forwards.push_back({i, l4, e.public_port, e.guest_port});
    }
  }
  return plan;
}

}  // namespace seed::net
