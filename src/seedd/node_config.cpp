#include "seedd/node_config.hpp"

#include "net/egress_rule.hpp"
#include "net/ip_address.hpp"

namespace seed {
namespace {

bool is_dns_name(const std::string& name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    std::string_view label(name.data() + start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    start = end + 1;
  }
  return true;
}

void port(std::vector<std::string>& problems, const char* key, uint64_t value) {
  if (value < 1 || value > 65535) problems.push_back(std::string(key) + ": must be 1-65535, got " + std::to_string(value));
}

void read_shoot(JsonReader& in, NodeConfig::Shoot& c, std::vector<std::string>& problems) {
  in.object("image").get("kernel", c.kernel).get("initrd", c.initrd).get("cmdline", c.cmdline);
  in.get("max_vms", c.max_vms).get("max_memory_mib", c.max_memory_mib).get("per_instance", c.per_instance);
  in.get("node", c.node).get("queue", c.queue).get("max_wait_ms", c.max_wait_ms);
  in.get("max_timeout_ms", c.max_timeout_ms).get("output_cap", c.output_cap).get("max_stdin", c.max_stdin);
  if (const auto* tiers = in.raw("tiers")) {
    c.tiers.clear();
    if (!tiers->is_array() || tiers->empty()) {
      problems.push_back("shoot.tiers: must be a non-empty array of {name, vcpus, memory_mib, pool}");
      return;
    }
    for (size_t i = 0; i < tiers->size(); ++i) {
      const std::string where = "shoot.tiers[" + std::to_string(i) + "]";
      JsonReader t((*tiers)[i], "seedd.json", where);
      NodeConfig::ShootTier tier;
      t.get("name", tier.name, true).get("vcpus", tier.vcpus).get("memory_mib", tier.memory_mib).get("pool", tier.pool);
      if (auto st = t.finish(); !st) {
        problems.push_back(st.error().message);
        continue;
      }
      bool name_ok = !tier.name.empty() && tier.name.size() <= 16;
      for (char ch : tier.name) name_ok = name_ok && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'));
      if (!name_ok) problems.push_back(where + ".name: \"" + tier.name + "\" must be 1-16 of a-z, 0-9");
      if (tier.vcpus < 1 || tier.vcpus > 64) problems.push_back(where + ".vcpus: must be 1-64");
      if (tier.memory_mib < 64 || tier.memory_mib > 65536) problems.push_back(where + ".memory_mib: must be 64-65536");
      c.tiers.push_back(tier);
    }
  }
  if (!c.kernel.empty() && c.kernel[0] != '/') problems.push_back("shoot.image.kernel: must be an absolute path");
  for (auto [key, value] : {std::pair{"shoot.max_vms", c.max_vms}, {"shoot.node", c.node},
                            {"shoot.per_instance", c.per_instance}, {"shoot.max_timeout_ms", c.max_timeout_ms},
                            {"shoot.output_cap", c.output_cap}}) {
    if (value == 0) problems.push_back(std::string(key) + ": must be at least 1");
  }
}

}  // namespace

std::vector<std::string> read_node_config(JsonReader& top, NodeConfig& c) {
  std::vector<std::string> problems;
  top.get("domain", c.domain).get("public_addresses", c.public_addresses);
  auto& st = top.object("storage");
  st.get_enum("backend", c.storage.backend, {"file", "lvm"});
  st.get("volume_group", c.storage.volume_group).get("directory", c.storage.directory);
  auto& net = top.object("network");
  net.get("bridge", c.network.bridge).get("subnet", c.network.subnet).get("ipv6_prefix", c.network.ipv6_prefix);
  auto& egress = net.object("egress");
  std::vector<std::string> allow;
  egress.get("internet", c.network.egress.internet).get("allow", allow);
  for (size_t n = 0; n < allow.size(); ++n) {
    auto rule = net::parse_egress_rule(allow[n], "network.egress.allow[" + std::to_string(n) + "]");
    if (rule) c.network.egress.allow.push_back(*rule);
    else problems.push_back(rule.error().message);
  }
  top.object("ssh").get("port", c.ssh_port);
  top.object("api").get("port", c.api_port).get("admin_port", c.api_admin_port).get("public_port", c.api_public_port);
  top.object("eval").get("user", c.eval.user).get("flake_registry", c.eval.flake_registry);
  read_shoot(top.object("shoot"), c.shoot, problems);

  if (!c.domain.empty() && !is_dns_name(c.domain)) {
    problems.push_back("domain: \"" + c.domain + "\" is not a lowercase DNS name (labels of a-z, 0-9, '-')");
  }
  for (const auto& a : c.public_addresses) {
    if (!net::parse_ipv4(a, "public_addresses") && !net::parse_ipv6(a, "public_addresses")) {
      problems.push_back("public_addresses: \"" + a + "\" is not an IPv4 or IPv6 address");
    }
  }
  if (c.storage.backend == "lvm" && c.storage.volume_group.empty()) {
    problems.push_back("storage.volume_group: required with storage.backend \"lvm\"");
  }
  if (c.storage.backend == "file" && (c.storage.directory.empty() || c.storage.directory[0] != '/')) {
    problems.push_back("storage.directory: must be an absolute path");
  }
  if (c.network.bridge.empty() || c.network.bridge.size() > 15) {
    problems.push_back("network.bridge: must be 1-15 characters (a Linux interface name)");
  }
  if (auto p = net::parse_prefix4(c.network.subnet, "network.subnet"); !p) {
    problems.push_back(p.error().message);
  }
  if (!c.network.ipv6_prefix.empty()) {
    if (auto p = net::parse_prefix6(c.network.ipv6_prefix, "network.ipv6_prefix"); !p) problems.push_back(p.error().message);
  }
  if (!c.eval.flake_registry.empty() && c.eval.flake_registry[0] != '/') {
    problems.push_back("eval.flake_registry: must be an absolute path, got \"" + c.eval.flake_registry + "\"");
  }
  port(problems, "ssh.port", c.ssh_port);
  port(problems, "api.port", c.api_port);
  if (c.api_admin_port != 0) port(problems, "api.admin_port", c.api_admin_port);
  if (c.api_public_port != 0) port(problems, "api.public_port", c.api_public_port);
  if (c.api_public_port != 0 && c.api_public_port == c.api_admin_port) {
    problems.push_back("api.public_port and api.admin_port: both are " + std::to_string(c.api_public_port) +
                       " on 127.0.0.1; choose two ports (or 0 to turn one off)");
  }
  if (c.api_port == 53) problems.push_back("api.port: 53 is the DNS port guests use on the bridge; choose another");
  if (c.ssh_port == c.api_port) problems.push_back("ssh.port and api.port: both are " + std::to_string(c.ssh_port));
  return problems;
}

}  // namespace seed
