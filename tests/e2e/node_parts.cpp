#include "node_parts.hpp"

#include <filesystem>
#include <stdexcept>

#include "storage/command_runner.hpp"
#include "storage/file_driver.hpp"
#include "vmm/qemu/qemu_driver.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {

reconcile::EngineConfig node_config(const std::string& root) {
  reconcile::EngineConfig c;
  c.state_dir = root + "/state";
  c.runtime_dir = root + "/run";
  c.domain = "seed.test";
  c.default_health_timeout = std::chrono::seconds(60);
  c.stop_grace = std::chrono::milliseconds(5000);
  c.resync_interval = std::chrono::hours(1);  // tests deploy explicitly
  return c;
}

std::unique_ptr<storage::VolumeDriver> node_volumes(const std::string& root) {
  return std::make_unique<storage::FileDriver>(storage::FileDriverConfig{root + "/images", root + "/mnt"},
                                               std::make_unique<storage::SystemRunner>());
}

reconcile::EngineParts node_parts(const std::string& root, net::dns::ZoneStore* zone, net::ingress::Server* ingress) {
  reconcile::EngineParts parts;
  parts.nix.env = {"NIX_CONFIG=build-users-group =\nsubstituters =\nsandbox = true\n", "HOME=" + root};
  net::NetworkConfig nc;
  nc.bridge = "seed0";
  nc.subnet = "10.77.0.0/24";
  nc.state_file = root + "/state/addresses.json";
  nc.public_addresses = {"10.76.0.1"};  // exposed tcp/udp ports get DNAT rules (ports_e2e_test)
  nc.guest_api_port = kGuestApiPort;    // acme_e2e_test runs seedd's guest listener there
  std::filesystem::create_directories(root + "/state");
  auto network = net::Network::open(nc);
  if (!network) throw std::runtime_error(network.error().describe());
  parts.network = std::move(*network);
  parts.volumes = node_volumes(root);
  tpm::TpmSettings ts;
  ts.state_root = root + "/state/tpm";
  ts.run_root = root + "/run/tpm";
  ts.ca_dir = root + "/state/tpm-ca";
  parts.tpms = std::make_unique<tpm::TpmManager>(ts);
  parts.vm_driver = std::make_unique<vmm::qemu::QemuDriver>("qemu-system-x86_64", vmm::qemu::Accel::tcg);
  parts.runner.runtime_dir = root + "/run";
  parts.runner.state_dir = root + "/state";
  parts.runner.console_logger_binary = vmm::testing::build_dir() + "/src/vmm/seed-console-logger";
  parts.zone = zone;
  parts.ingress = ingress;
  return parts;
}

Result<std::unique_ptr<reconcile::Engine>> start_child_engine(const reconcile::EngineConfig& config,
                                                              const std::string& root) {
  auto engine = SEED_TRY(reconcile::Engine::open(config, node_parts(root, nullptr, nullptr)));
  SEED_TRY(engine->start());
  return engine;
}

}  // namespace seed::e2e
