#include "net/dns/zone.hpp"

#include <arpa/inet.h>

namespace seed::net::dns {

Result<Ipv4> parse_ipv4(const std::string& text, std::string_view what) {
  Ipv4 out{};
  if (inet_pton(AF_INET, text.c_str(), out.data()) != 1) {
    return make_error(Errc::invalid_argument, "not an IPv4 address")
        .with("value", text)
        .with("for", std::string(what));
  }
  return out;
}

Result<Ipv6> parse_ipv6(const std::string& text, std::string_view what) {
  Ipv6 out{};
  if (inet_pton(AF_INET6, text.c_str(), out.data()) != 1) {
    return make_error(Errc::invalid_argument, "not an IPv6 address")
        .with("value", text)
        .with("for", std::string(what));
  }
  return out;
}

namespace {

Error zone_error(Error e, std::string_view stage_what) {
  return std::move(e.with("stage", "runtime").with("in", std::string(stage_what)));
}

// Adds the empty non-terminals between `name` and the apex, so `<namespace>.<domain>` answers
// NODATA rather than NXDOMAIN (RFC 8020: NXDOMAIN means nothing exists below either).
void add_ancestors(KeyMap<ZoneNode>& nodes, const Name& name, const Name& apex) {
  for (Name p = name.parent(); !(p == apex) && p.is_at_or_below(apex); p = p.parent()) {
    nodes.try_emplace(p.key());
  }
}

}  // namespace

Result<std::shared_ptr<const Zone>> Zone::build(const ZoneConfig& config,
                                                const std::vector<InstanceAddress>& instances,
                                                uint32_t serial) {
  std::shared_ptr<Zone> z(new Zone());
  z->config_ = config;
  z->serial_ = serial;
  auto apex = Name::from_text(config.domain);
  if (!apex) return zone_error(std::move(apex).error(), "dns zone domain");
  z->apex_ = *apex;
  auto hostmaster =
      Name::from_text(config.hostmaster.empty() ? "hostmaster." + config.domain : config.hostmaster);
  if (!hostmaster) return zone_error(std::move(hostmaster).error(), "dns zone hostmaster");
  z->hostmaster_ = *hostmaster;
  if (config.nameservers.empty()) {
    return make_error(Errc::invalid_argument, "the DNS zone needs at least one name server")
        .with("domain", config.domain)
        .with("hint", "set the node's NS name(s) and public address in the config");
  }
  z->nodes_[z->apex_.key()].apex = true;

  for (const auto& ns : config.nameservers) {
    auto name = Name::from_text(ns.name);
    if (!name) return zone_error(std::move(name).error(), "dns name server");
    z->ns_names_.push_back(*name);
    if (!name->is_at_or_below(z->apex_)) continue;  // glue only for names we are authoritative for
    ZoneNode& node = z->nodes_[name->key()];
    if (!ns.ipv4.empty()) node.a.push_back(SEED_TRY(parse_ipv4(ns.ipv4, ns.name)));
    if (!ns.ipv6.empty()) node.aaaa.push_back(SEED_TRY(parse_ipv6(ns.ipv6, ns.name)));
    add_ancestors(z->nodes_, *name, z->apex_);
  }

  for (const auto& host : config.hosts) {
    auto name = Name::from_text(host.name);
    if (!name) return zone_error(std::move(name).error(), "dns name of the node");
    if (!name->is_at_or_below(z->apex_)) {
      return make_error(Errc::invalid_argument, "the node's own name " + host.name + " is outside the zone")
          .with("domain", config.domain);
    }
    ZoneNode& node = z->nodes_[name->key()];
    if (!host.ipv4.empty()) node.a.push_back(SEED_TRY(parse_ipv4(host.ipv4, host.name)));
    if (!host.ipv6.empty()) node.aaaa.push_back(SEED_TRY(parse_ipv6(host.ipv6, host.name)));
    add_ancestors(z->nodes_, *name, z->apex_);
  }

  for (const auto& inst : instances) {
    std::string who = inst.instance + "." + inst.ns;
    // Each part must be exactly one label: a dot would let one tenant shadow another's names.
    if (inst.ns.find('.') != std::string::npos || inst.instance.find('.') != std::string::npos ||
        inst.ns.empty() || inst.instance.empty()) {
      return make_error(Errc::invalid_argument, "instance and namespace must each be one DNS label")
          .with("instance", who)
          .with("stage", "runtime")
          .with("hint", "use 1-63 letters, digits or '-' without dots");
    }
    auto name = Name::from_text(who + "." + config.domain);
    if (!name) return zone_error(std::move(name).error(), "dns name of instance " + who);
    auto [it, inserted] = z->nodes_.try_emplace(name->key());
    if (!inserted && (it->second.apex || !it->second.ns.empty() || !it->second.a.empty() ||
                      !it->second.aaaa.empty())) {
      return make_error(Errc::conflict, "two entries claim the same DNS name")
          .with("name", name->to_text())
          .with("stage", "runtime")
          .with("hint", "instance names must be unique within a namespace");
    }
    ZoneNode& node = it->second;
    node.ns = inst.ns;
    if (!inst.ipv4.empty()) node.a.push_back(SEED_TRY(parse_ipv4(inst.ipv4, who)));
    if (!inst.ipv6.empty()) node.aaaa.push_back(SEED_TRY(parse_ipv6(inst.ipv6, who)));
    add_ancestors(z->nodes_, *name, z->apex_);
  }
  return std::shared_ptr<const Zone>(std::move(z));
}

const ZoneNode* Zone::find(std::string_view key) const {
  auto it = nodes_.find(key);
  return it == nodes_.end() ? nullptr : &it->second;
}

const ZoneNode* Zone::find(const Name& name) const { return find(name.key()); }

}  // namespace seed::net::dns
