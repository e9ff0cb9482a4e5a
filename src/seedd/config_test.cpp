#include "common/testing/temp_dir.hpp"
#include "seedd/config.hpp"

#include <stdlib.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/fd.hpp"

namespace seed {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char* kFile = "/etc/seed/seedd.json";

Config parse_ok(std::string_view text) {
  auto c = parse_config(text, kFile);
  EXPECT_TRUE(c.ok()) << c.error().describe();
  return c.ok() ? *c : Config{};
}

Error parse_fail(std::string_view text) {
  auto c = parse_config(text, kFile);
  EXPECT_FALSE(c.ok());
  if (c.ok()) return Error{};
  EXPECT_EQ(c.error().code, Errc::invalid_argument);
  EXPECT_THAT(c.error().message, HasSubstr(kFile));
  return c.error();
}

TEST(Config, EmptyObjectGivesDefaults) {
  Config c = parse_ok("{}");
  EXPECT_EQ(c.log_level, log::Level::info);
  EXPECT_EQ(c.driver.hypervisor, "auto");
  EXPECT_EQ(c.driver.accel, "auto");
  EXPECT_EQ(c.driver.cloud_hypervisor_binary, "cloud-hypervisor");
  EXPECT_EQ(c.driver.qemu_binary, "qemu-system-x86_64");
  EXPECT_EQ(c.runner.runtime_dir, "/run/seedd");
  EXPECT_EQ(c.runner.state_dir, "/var/lib/seed");
  EXPECT_EQ(c.runner.virtiofsd_binary, "/usr/lib/qemu/virtiofsd");
  EXPECT_EQ(c.runner.console.max_bytes, 1u << 20);
  EXPECT_EQ(c.runner.console.keep, 3u);
  EXPECT_EQ(c.stop_timeout_s, 10u);
  // The logger ships beside seedd (or, in the build tree, in src/vmm).
  EXPECT_THAT(c.runner.console_logger_binary, HasSubstr("seed-console-logger"));
  EXPECT_EQ(c.runner.console_logger_binary, default_config().runner.console_logger_binary);
}

TEST(Config, ControlSocket) {
  Config d = parse_ok("{}");
  EXPECT_EQ(d.control.socket_path, "/run/seedd/control.sock");
  EXPECT_EQ(d.control.max_clients, 16u);
  EXPECT_EQ(d.control.ssh_host_key_path, "/var/lib/seed/ssh/ssh_host_ed25519_key.pub");
  Config c = parse_ok(R"({"state_dir": "/srv/seed", "control": {"socket": "/run/s/ctl.sock", "max_clients": 4}})");
  EXPECT_EQ(c.control.socket_path, "/run/s/ctl.sock");
  EXPECT_EQ(c.control.max_clients, 4u);
  EXPECT_EQ(c.control.ssh_host_key_path, "/srv/seed/ssh/ssh_host_ed25519_key.pub");
  EXPECT_EQ(parse_ok(R"({"runtime_dir": "/run/x"})").control.socket_path, "/run/x/control.sock");
  EXPECT_THAT(parse_fail(R"({"control": {"socket": "ctl.sock"}})").message, HasSubstr("control.socket: must be an absolute path"));
  EXPECT_THAT(parse_fail(R"({"control": {"max_clients": 0}})").message, HasSubstr("control.max_clients"));
  EXPECT_THAT(parse_fail(R"({"control": {"sockt": "/x"}})").message, HasSubstr("control.sockt"));
}

TEST(Config, DefaultLoggerIsFoundInTheBuildTree) {
  // This test binary lives in <build>/src/seedd, the logger in <build>/src/vmm.
  std::string logger = default_config().runner.console_logger_binary;
  EXPECT_TRUE(std::filesystem::exists(logger)) << logger;
}

TEST(Config, EveryKey) {
  Config c = parse_ok(R"({
    "log_level": "debug",
    "state_dir": "/srv/seed",
    "runtime_dir": "/run/seed-test",
    "vmm": {
      "hypervisor": "qemu",
      "accel": "tcg",
      "cloud_hypervisor_binary": "/opt/ch/cloud-hypervisor",
      "qemu_binary": "/opt/qemu/bin/qemu-system-x86_64",
      "virtiofsd_binary": "/opt/virtiofsd",
      "console_logger_binary": "/opt/seed/seed-console-logger",
      "console_log_max_bytes": 65536,
      "console_log_keep": 7,
      "stop_timeout_s": 30
    }
  })");
  EXPECT_EQ(c.log_level, log::Level::debug);
  EXPECT_EQ(c.runner.state_dir, "/srv/seed");
  EXPECT_EQ(c.runner.runtime_dir, "/run/seed-test");
  EXPECT_EQ(c.driver.hypervisor, "qemu");
  EXPECT_EQ(c.driver.accel, "tcg");
  EXPECT_EQ(c.driver.cloud_hypervisor_binary, "/opt/ch/cloud-hypervisor");
  EXPECT_EQ(c.driver.qemu_binary, "/opt/qemu/bin/qemu-system-x86_64");
  EXPECT_EQ(c.runner.virtiofsd_binary, "/opt/virtiofsd");
  EXPECT_EQ(c.runner.console_logger_binary, "/opt/seed/seed-console-logger");
  EXPECT_EQ(c.runner.console.max_bytes, 65536u);
  EXPECT_EQ(c.runner.console.keep, 7u);
  EXPECT_EQ(c.stop_timeout_s, 30u);
}

TEST(Config, EveryLogLevelAndHypervisor) {
  EXPECT_EQ(parse_ok(R"({"log_level": "warn"})").log_level, log::Level::warn);
  EXPECT_EQ(parse_ok(R"({"log_level": "error"})").log_level, log::Level::error);
  EXPECT_EQ(parse_ok(R"({"vmm": {"hypervisor": "cloud-hypervisor"}})").driver.hypervisor,
            "cloud-hypervisor");
  EXPECT_EQ(parse_ok(R"({"vmm": {"accel": "kvm"}})").driver.accel, "kvm");
}

TEST(Config, UnknownKeyNamesFileAndSuggests) {
  Error top = parse_fail(R"({"log_levle": "info"})");
  EXPECT_THAT(top.message, HasSubstr("log_levle: unknown key; did you mean 'log_level'?"));
  EXPECT_EQ(top.get("file"), kFile);
  Error nested = parse_fail(R"({"vmm": {"qemu_bin": "/x"}})");
  EXPECT_THAT(nested.message, HasSubstr("vmm.qemu_bin: unknown key"));
  // A top-level key put inside "vmm" is unknown there.
  Error misplaced = parse_fail(R"({"vmm": {"state_dir": "/x"}})");
  EXPECT_THAT(misplaced.message, HasSubstr("vmm.state_dir: unknown key"));
}

TEST(Config, WrongTypes) {
  Error e = parse_fail(
      R"({"state_dir": 5, "vmm": {"console_log_max_bytes": "1M", "stop_timeout_s": -1}})");
  EXPECT_THAT(e.message, HasSubstr("3 problems"));
  EXPECT_THAT(e.message, HasSubstr("state_dir: expected a string, got the integer 5"));
  EXPECT_THAT(e.message, HasSubstr("vmm.console_log_max_bytes: expected a non-negative integer, "
                                   "got the string \"1M\""));
  EXPECT_THAT(e.message, HasSubstr("vmm.stop_timeout_s: expected a non-negative integer"));
  Error vmm = parse_fail(R"({"vmm": "qemu"})");
  EXPECT_THAT(vmm.message, HasSubstr("vmm: expected an object, got the string \"qemu\""));
  Error top = parse_fail(R"(["not", "an", "object"])");
  EXPECT_THAT(top.message, HasSubstr("top level: expected an object"));
}

TEST(Config, BadEnumListsAllowedValues) {
  Error hv = parse_fail(R"({"vmm": {"hypervisor": "firecracker"}})");
  EXPECT_THAT(hv.message, HasSubstr("vmm.hypervisor: 'firecracker' is not one of: auto, "
                                    "cloud-hypervisor, qemu"));
  Error accel = parse_fail(R"({"vmm": {"accel": "hvf"}})");
  EXPECT_THAT(accel.message, HasSubstr("vmm.accel: 'hvf' is not one of: auto, kvm, tcg"));
  Error level = parse_fail(R"({"log_level": "verbose"})");
  EXPECT_THAT(level.message, HasSubstr("log_level: 'verbose' is not one of: debug, info, warn, error"));
}

TEST(Config, ConsoleLogMaxBytesFloor) {
  Error e = parse_fail(R"({"vmm": {"console_log_max_bytes": 4095}})");
  EXPECT_THAT(e.message, HasSubstr("vmm.console_log_max_bytes must be at least 4096"));
  EXPECT_EQ(e.get("file"), kFile);
  EXPECT_EQ(parse_ok(R"({"vmm": {"console_log_max_bytes": 4096}})").runner.console.max_bytes,
            4096u);
  parse_fail(R"({"vmm": {"console_log_max_bytes": 0}})");
}

TEST(Config, ConsoleLogKeepDoesNotWrap) {
  auto c = parse_config(R"({"vmm": {"console_log_keep": 4294967296}})", kFile);
  // 2^32 must not silently become 0 (no rotated files at all); absurd counts are refused.
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message, HasSubstr("vmm.console_log_keep must be at most 1000"));
  EXPECT_EQ(parse_ok(R"({"vmm": {"console_log_keep": 1000}})").runner.console.keep, 1000u);
  EXPECT_EQ(parse_ok(R"({"vmm": {"console_log_keep": 0}})").runner.console.keep, 0u);
}

TEST(Config, SyntaxError) {
  Error e = parse_fail(R"({"log_level": "info",})");
  EXPECT_THAT(e.message, HasSubstr("/etc/seed/seedd.json: not valid JSON at byte"));
}

TEST(Config, LoadConfigFromFile) {
  seed::testing::TempDir tmp;
  const std::string& dir = tmp.path();
  std::string path = dir + "/seedd.json";
  ASSERT_TRUE(write_file_atomic(path, R"({"vmm": {"hypervisor": "qemu"}})").ok());
  auto good = load_config(path);
  ASSERT_TRUE(good.ok()) << good.error().describe();
  EXPECT_EQ(good->driver.hypervisor, "qemu");
  ASSERT_TRUE(write_file_atomic(path, R"({"vmm": {"hypervisr": "qemu"}})").ok());
  auto bad = load_config(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr(path));
  auto missing = load_config(dir + "/absent.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().get("stage"), "config");
  EXPECT_THAT(missing.error().message, Not(HasSubstr("seedd.json")));
}


TEST(Config, NodeKeysAreReadAndChecked) {
  Config c = parse_ok(R"({"domain": "seed.example.org", "public_addresses": ["203.0.113.7", "2001:db8::7"],
    "storage": {"backend": "lvm", "volume_group": "vg0"},
    "network": {"bridge": "seed0", "subnet": "10.100.0.0/16", "ipv6_prefix": "fd5e:ed00::/64"},
    "ssh": {"port": 2222}, "api": {"port": 9876},
    "acme": {"upstream": "acme", "directory": "https://acme.example/dir", "email": "ops@example.org",
             "ca_file": "/etc/seed/test-ca.pem"},
    "eval": {"user": "seed-eval", "flake_registry": "/etc/seed/flake-registry.json"}})");
  EXPECT_EQ(c.node.domain, "seed.example.org");
  EXPECT_EQ(c.node.public_addresses.size(), 2u);
  EXPECT_EQ(c.node.storage.backend, "lvm");
  EXPECT_EQ(c.node.storage.volume_group, "vg0");
  EXPECT_EQ(c.node.network.ipv6_prefix, "fd5e:ed00::/64");
  EXPECT_EQ(c.node.ssh_port, 2222u);
  EXPECT_EQ(c.node.eval.user, "seed-eval");
  EXPECT_EQ(c.node.eval.flake_registry, "/etc/seed/flake-registry.json");
  EXPECT_EQ(c.node.acme.upstream, "acme");
  EXPECT_EQ(c.node.acme.directory, "https://acme.example/dir");
  EXPECT_EQ(c.node.acme.email, "ops@example.org");
  EXPECT_EQ(c.node.acme.ca_file, "/etc/seed/test-ca.pem");
  Config d = parse_ok("{}");
  EXPECT_EQ(d.node.storage.backend, "file");
  EXPECT_EQ(d.node.network.subnet, "10.100.0.0/16");
  EXPECT_EQ(d.node.ssh_port, 22u);
}

// The ACME facade's upstream: the internal CA with 7-day leaves by default; every bad value is
// named with the others at once (an enum, a bounded lifetime, an https directory for upstream
// "acme", an e-mail address); the admin listener's port is a port or 0 (off).
TEST(Config, AcmeAndApiKeysHaveDefaultsAndAreChecked) {
  Config d = parse_ok("{}");
  EXPECT_EQ(d.node.acme.upstream, "internal");
  EXPECT_EQ(d.node.acme.leaf_days, 7u);
  EXPECT_EQ(d.node.acme.directory, "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(d.node.api_port, 9876u);
  EXPECT_EQ(d.node.api_admin_port, 9877u);
  Config c = parse_ok(R"({"acme": {"upstream": "internal", "leaf_days": 30}, "api": {"admin_port": 0}})");
  EXPECT_EQ(c.node.acme.leaf_days, 30u);
  EXPECT_EQ(c.node.api_admin_port, 0u);
  // An http:// directory is fine while the internal CA is used (it is not read then).
  parse_ok(R"({"acme": {"upstream": "internal", "directory": "http://10.0.0.1/dir"}})");

  EXPECT_THAT(parse_fail(R"({"acme": {"upstream": "letsencrypt"}})").message, HasSubstr("upstream"));
  const Error e = parse_fail(R"({"acme": {"upstream": "acme", "directory": "http://ca.example/dir",
      "email": "not-an-address", "leaf_days": 0}, "api": {"admin_port": 70000}})");
  EXPECT_THAT(e.message, HasSubstr("4 problems"));
  EXPECT_THAT(e.message, HasSubstr("acme.directory: must be an https:// URL"));
  EXPECT_THAT(e.message, HasSubstr("acme.email: \"not-an-address\" is not an e-mail address"));
  EXPECT_THAT(e.message, HasSubstr("acme.leaf_days: must be between 1 and 397, got 0"));
  EXPECT_THAT(e.message, HasSubstr("api.admin_port: must be 1-65535"));
  EXPECT_EQ(e.get("stage"), "config");
  EXPECT_THAT(parse_fail(R"({"acme": {"ca_file": "ca.pem"}})").message,
              HasSubstr("acme.ca_file: must be an absolute path to a PEM file, got \"ca.pem\""));
  EXPECT_THAT(parse_fail(R"({"acme": {"leaf_days": 398}})").message, HasSubstr("acme.leaf_days"));
  // The public listener (webhooks, Silo on the web): 9878 on loopback by default, 0 = off,
  // never the admin listener's port.
  EXPECT_EQ(d.node.api_public_port, 9878u);
  EXPECT_EQ(parse_ok(R"({"api": {"public_port": 0}})").node.api_public_port, 0u);
  EXPECT_THAT(parse_fail(R"({"api": {"public_port": 65536}})").message, HasSubstr("api.public_port: must be 1-65535"));
  EXPECT_THAT(parse_fail(R"({"api": {"public_port": 9877}})").message,
              HasSubstr("api.public_port and api.admin_port: both are 9877"));
  // The keys of the first facade draft are gone, not silently ignored.
  EXPECT_THAT(parse_fail(R"({"acme": {"internal_ca": true}})").message, HasSubstr("internal_ca"));
}

// Shoots: off without an image, one small tier by default; tiers and caps are checked.
TEST(Config, ShootKeysHaveDefaultsAndAreChecked) {
  Config d = parse_ok("{}");
  EXPECT_TRUE(d.node.shoot.kernel.empty());
  ASSERT_EQ(d.node.shoot.tiers.size(), 1u);
  EXPECT_EQ(d.node.shoot.tiers[0].name, "small");
  EXPECT_EQ(d.node.shoot.output_cap, 4u << 20);
  Config c = parse_ok(R"({"shoot": {"image": {"kernel": "/k", "initrd": "/i", "cmdline": "console=ttyS0"},
      "tiers": [{"name": "small", "pool": 2}, {"name": "large", "vcpus": 2, "memory_mib": 1024, "pool": 0}],
      "max_vms": 4, "per_instance": 1, "max_timeout_ms": 60000}})");
  EXPECT_EQ(c.node.shoot.kernel, "/k");
  ASSERT_EQ(c.node.shoot.tiers.size(), 2u);
  EXPECT_EQ(c.node.shoot.tiers[1].memory_mib, 1024u);
  EXPECT_EQ(c.node.shoot.tiers[0].pool, 2u);
  EXPECT_EQ(c.node.shoot.per_instance, 1u);
  Error e = parse_fail(R"({"shoot": {"image": {"kernel": "vmlinuz"}, "tiers": [{"name": "Big!", "vcpus": 0}],
      "node": 0}})");
  EXPECT_THAT(e.message, HasSubstr("shoot.image.kernel: must be an absolute path"));
  EXPECT_THAT(e.message, HasSubstr("shoot.tiers[0].name"));
  EXPECT_THAT(e.message, HasSubstr("shoot.tiers[0].vcpus"));
  EXPECT_THAT(e.message, HasSubstr("shoot.node: must be at least 1"));
  EXPECT_THAT(parse_fail(R"({"shoot": {"tiers": []}})").message, HasSubstr("shoot.tiers"));
}

// The egress policy: a safe default (internet yes, nothing private), an allow list read into
// canonical rules, and every bad rule named with its index at once.
TEST(Config, NetworkEgressDefaultsSafeAndIsChecked) {
  Config d = parse_ok("{}");
  EXPECT_TRUE(d.node.network.egress.internet);
  EXPECT_TRUE(d.node.network.egress.allow.empty());
  Config c = parse_ok(R"({"network": {"egress": {"internet": false,
    "allow": ["192.168.1.0/24", "192.168.1.20 tcp/443", "fd00::5 udp/53"]}}})");
  EXPECT_FALSE(c.node.network.egress.internet);
  EXPECT_EQ(c.node.network.egress.allow,
            (std::vector<net::EgressRule>{{"192.168.1.0/24", "", 0}, {"192.168.1.20/32", "tcp", 443},
                                          {"fd00::5/128", "udp", 53}}));
  Error e = parse_fail(R"({"network": {"egress": {"allow": ["192.168.1.0/24", "lan", "10.0.0.1 tcp/99999"]}}})");
  EXPECT_THAT(e.message, HasSubstr("2 problems"));
  EXPECT_THAT(e.message, HasSubstr("network.egress.allow[1]: \"lan\""));
  EXPECT_THAT(e.message, HasSubstr("network.egress.allow[2]: \"10.0.0.1 tcp/99999\" has port"));
  EXPECT_EQ(e.get("stage"), "config");
  EXPECT_THAT(parse_fail(R"({"network": {"egress": {"allow": "10.0.0.1"}}})").message, HasSubstr("network.egress.allow"));
  EXPECT_THAT(parse_fail(R"({"network": {"egress": {"internett": true}}})").message, HasSubstr("internett"));
  EXPECT_THAT(parse_fail(R"({"api": {"port": 53}})").message, HasSubstr("api.port: 53 is the DNS port"));
}

TEST(Config, IngressLimitsAreReadAndBounded) {
  Config d = parse_ok("{}");
  EXPECT_EQ(d.ingress.max_connections, 4096u);
  EXPECT_EQ(d.ingress.idle_timeout, std::chrono::seconds(300));
  Config c = parse_ok(R"({"ingress": {"max_connections": 100, "max_per_source": 10, "header_timeout_s": 3,
    "connect_timeout_s": 2, "idle_timeout_s": 60}})");
  EXPECT_EQ(c.ingress.max_connections, 100u);
  EXPECT_EQ(c.ingress.max_per_source, 10u);
  EXPECT_EQ(c.ingress.header_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c.ingress.connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.ingress.idle_timeout, std::chrono::seconds(60));
  EXPECT_TRUE(c.ingress.listeners.empty());  // those come from `listen`
  Error e = parse_fail(R"({"ingress": {"max_connections": 0, "idle_timeout_s": 99999999}})");
  EXPECT_THAT(e.message, HasSubstr("ingress.max_connections: must be between 1 and 1000000, got 0"));
  EXPECT_THAT(e.message, HasSubstr("ingress.idle_timeout_s: must be between 1 and 604800"));
  EXPECT_THAT(parse_fail(R"({"ingress": {"max_conections": 5}})").message, HasSubstr("max_conections"));
}

TEST(Config, SshLimitsSitBesideTheNodesPort) {
  Config d = parse_ok("{}");
  EXPECT_EQ(d.ssh.max_sessions, 64u);
  EXPECT_EQ(d.ssh.max_sessions_per_source, 8u);
  Config c = parse_ok(R"({"ssh": {"port": 2222, "max_sessions": 100, "max_per_source": 4}})");
  EXPECT_EQ(c.node.ssh_port, 2222u);
  EXPECT_EQ(c.ssh.max_sessions, 100u);
  EXPECT_EQ(c.ssh.max_sessions_per_source, 4u);
  Error e = parse_fail(R"({"ssh": {"max_sessions": 16, "max_per_source": 20}})");
  EXPECT_THAT(e.message, HasSubstr("ssh.max_per_source: must be between 1 and ssh.max_sessions (16), got 20"));
  EXPECT_THAT(parse_fail(R"({"ssh": {"max_sessions": 0}})").message, HasSubstr("ssh.max_sessions: must be between 1"));
  EXPECT_THAT(parse_fail(R"({"ssh": {"max_per_sorce": 5}})").message, HasSubstr("did you mean 'max_per_source'"));
}

TEST(Config, DnsTcpLimitsAreReadAndBounded) {
  Config d = parse_ok("{}");
  EXPECT_EQ(d.dns.max_tcp_connections, 256u);
  EXPECT_EQ(d.dns.max_tcp_per_source, 16u);
  EXPECT_EQ(d.dns.tcp_message_timeout, std::chrono::seconds(5));
  EXPECT_EQ(d.dns.tcp_max_life, std::chrono::seconds(120));
  Config c = parse_ok(R"({"dns": {"max_tcp_connections": 100, "max_tcp_per_source": 4, "tcp_idle_timeout_s": 3,
    "tcp_message_timeout_s": 2, "tcp_max_life_s": 60}})");
  EXPECT_EQ(c.dns.max_tcp_connections, 100u);
  EXPECT_EQ(c.dns.max_tcp_per_source, 4u);
  EXPECT_EQ(c.dns.tcp_idle_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c.dns.tcp_message_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.dns.tcp_max_life, std::chrono::seconds(60));
  EXPECT_TRUE(c.dns.public_listen.empty());  // those come from `listen`
  Error e = parse_fail(R"({"dns": {"max_tcp_per_source": 0, "tcp_max_life_s": 99999999}})");
  EXPECT_THAT(e.message, HasSubstr("dns.max_tcp_per_source: must be between 1 and 65536, got 0"));
  EXPECT_THAT(e.message, HasSubstr("dns.tcp_max_life_s: must be between 1 and 86400"));
  EXPECT_THAT(parse_fail(R"({"dns": {"max_tcp_conections": 5}})").message, HasSubstr("max_tcp_conections"));
}

TEST(Config, BadNodeValuesAreAllReportedAtOnce) {
  Error e = parse_fail(R"({"domain": "Seed_Example", "public_addresses": ["example.org"],
    "storage": {"backend": "lvm"}, "network": {"subnet": "10.100.0.0/33", "bridge": "a-very-long-bridge-name"},
    "ssh": {"port": 0}, "api": {"port": 70000}, "eval": {"flake_registry": "registry.json"}})");
  EXPECT_THAT(e.message, HasSubstr("domain"));
  EXPECT_THAT(e.message, HasSubstr("eval.flake_registry: must be an absolute path"));
  EXPECT_THAT(e.message, HasSubstr("public_addresses"));
  EXPECT_THAT(e.message, HasSubstr("storage.volume_group: required"));
  EXPECT_THAT(e.message, HasSubstr("network.subnet"));
  EXPECT_THAT(e.message, HasSubstr("network.bridge"));
  EXPECT_THAT(e.message, HasSubstr("ssh.port"));
  EXPECT_THAT(e.message, HasSubstr("api.port"));
  EXPECT_EQ(e.get("stage"), "config");
  EXPECT_THAT(parse_fail(R"({"storage": {"backend": "zfs"}})").message, HasSubstr("storage.backend"));
  EXPECT_THAT(parse_fail(R"({"network": {"subnett": "x"}})").message, HasSubstr("subnet"));
}

// Listen addresses go through the one ADDRESS:PORT parser (net::dns::parse_endpoint) when the
// config is read: the hand-written split seedd used before accepted "80x" as port 80.
TEST(Config, ListenAddressesAreCheckedWithTheOneEndpointParser) {
  Config c = parse_ok(R"({"listen": {"dns": ["10.0.0.1:53"], "http": ["0.0.0.0:80", "[::1]:8080"],
    "https": ["192.0.2.1:443"]}})");
  EXPECT_EQ(c.listen.http.size(), 2u);
  Error e = parse_fail(R"({"listen": {"http": ["0.0.0.0:80x", "[::]:80"], "https": ["example.org:443", "0.0.0.0:0"],
    "dns": ["10.0.0.1"]}})");
  EXPECT_THAT(e.message, HasSubstr("listen.http[0]: '0.0.0.0:80x' is not ADDRESS:PORT"));
  EXPECT_THAT(e.message, Not(HasSubstr("listen.http[1]")));
  EXPECT_THAT(e.message, HasSubstr("listen.https[0]: 'example.org:443' is not ADDRESS:PORT"));
  EXPECT_THAT(e.message, HasSubstr("listen.https[1]: '0.0.0.0:0' needs a port"));
  EXPECT_THAT(e.message, HasSubstr("listen.dns[0]: '10.0.0.1' is not ADDRESS:PORT"));
  EXPECT_EQ(e.get("stage"), "config");
}

}  // namespace
}  // namespace seed
