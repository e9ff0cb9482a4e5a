// nixos-module/host under lib.evalModules with nixpkgs' real `lib` (tests/nix/eval-host.nix):
// the rendered seedd.json is read by seedd's own config parser, the unit keeps VMs alive
// across restarts, and misconfigurations fail with an assertion. Like nix_module_test, this
// needs SEED_NIXPKGS_LIB and is skipped loudly without it.
#include <stdlib.h>

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/temp_dir.hpp"
#include "nix_runner.hpp"
#include "seedd/config.hpp"

namespace seed::nixtest {
namespace {

using ::testing::HasSubstr;

class NixHost : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* lib = ::getenv("SEED_NIXPKGS_LIB");
    if (lib == nullptr || *lib == '\0') {
      GTEST_SKIP() << "SEED_NIXPKGS_LIB is not set: the host module is only parsed, not "
                      "evaluated (nixpkgs is not available offline); see tests/nix/README.md";
    }
    lib_ = lib;
  }

  // The host module evaluated with `services.seed = { enable = true; } // CONFIG`.
  Result<nlohmann::json> eval(const std::string& config) {
    auto r = SEED_TRY(run_nix({"nix-instantiate", "--eval", "--strict", "--json", "--readonly-mode",
                               source_dir() + "/tests/nix/eval-host.nix", "--argstr", "nixpkgsLib",
                               lib_, "--arg", "config", config},
                              home_.path()));
    if (!r.ok) return make_error(Errc::process_failed, r.command + "\n" + r.err);
    return nlohmann::json::parse(r.out);
  }

  std::string lib_;
  testing::TempDir home_;
};

TEST_F(NixHost, RenderedSettingsAreReadBySeedd) {
  auto host = eval("{ domain = \"seed.test\"; hypervisor = \"qemu\"; settings.log_level = \"debug\"; }");
  ASSERT_TRUE(host.ok()) << host.error().describe();
  nlohmann::json settings = host->at("settings");
  EXPECT_EQ(settings["domain"], "seed.test");
  // Everything the module renders, node keys included, must pass seedd's strict parser.
  auto config = parse_config(settings.dump(), "/etc/seed/seedd.json");
  ASSERT_TRUE(config.ok()) << config.error().describe() << "\n" << settings.dump(2);
  EXPECT_EQ(config->log_level, log::Level::debug);  // settings win over the module's defaults
  EXPECT_EQ(config->driver.hypervisor, "qemu");
  EXPECT_EQ(config->runner.state_dir, "/var/lib/seed");
  EXPECT_EQ(config->runner.runtime_dir, "/run/seedd");
  EXPECT_THAT(config->runner.console_logger_binary, HasSubstr("/bin/seed-console-logger"));
  EXPECT_THAT(config->runner.virtiofsd_binary, HasSubstr("/bin/virtiofsd"));
  EXPECT_EQ(config->node.domain, "seed.test");
  EXPECT_EQ(config->node.storage.backend, "file");
  EXPECT_EQ(config->node.network.bridge, "seed0");
  EXPECT_EQ(config->node.network.subnet, "10.100.0.0/16");
  EXPECT_EQ(config->node.ssh_port, 22u);
  EXPECT_EQ(config->node.api_port, 9876u);
  EXPECT_EQ(config->node.api_admin_port, 9877u);
  EXPECT_EQ(config->node.api_public_port, 9878u);
  EXPECT_EQ(config->node.acme.upstream, "internal");
  EXPECT_EQ(config->node.acme.leaf_days, 7u);
}

// services.seed.acme and api reach seedd under the keys its parser reads (email only when set,
// a null adminPort or publicPort as 0 = off).
TEST_F(NixHost, AcmeAndApiOptionsAreRenderedForSeedd) {
  auto host = eval(R"({ domain = "seed.test"; api.port = 8555; api.adminPort = null; api.publicPort = null;
      acme = { upstream = "acme"; directory = "https://ca.example/dir"; email = "ops@example.org"; leafDays = 30;
               caFile = "/etc/seed/test-ca.pem"; }; })");
  ASSERT_TRUE(host.ok()) << host.error().describe();
  auto config = parse_config(host->at("settings").dump(), "/etc/seed/seedd.json");
  ASSERT_TRUE(config.ok()) << config.error().describe() << "\n" << host->at("settings").dump(2);
  EXPECT_EQ(config->node.api_port, 8555u);
  EXPECT_EQ(config->node.api_admin_port, 0u);
  EXPECT_EQ(config->node.api_public_port, 0u);
  EXPECT_EQ(config->node.acme.upstream, "acme");
  EXPECT_EQ(config->node.acme.directory, "https://ca.example/dir");
  EXPECT_EQ(config->node.acme.email, "ops@example.org");
  EXPECT_EQ(config->node.acme.leaf_days, 30u);
  EXPECT_EQ(config->node.acme.ca_file, "/etc/seed/test-ca.pem");
  EXPECT_THAT(host->at("firewall").dump(), HasSubstr("8555"));  // guests reach the listener
}

// network.egress: the safe default reaches seedd as such, and an allow list the owner writes
// is what seedd's parser reads (the text form is seedd's, not reinterpreted by the module).
TEST_F(NixHost, EgressPolicyIsRenderedForSeedd) {
  auto defaults = eval("{ domain = \"seed.test\"; }");
  ASSERT_TRUE(defaults.ok()) << defaults.error().describe();
  EXPECT_EQ(defaults->at("settings")["network"]["egress"], nlohmann::json::parse(R"({"internet": true, "allow": []})"));
  auto host = eval(R"({ domain = "seed.test"; network.egress = { internet = false;
      allow = [ "192.168.1.20 tcp/443" "fd00:1::/64" ]; }; })");
  ASSERT_TRUE(host.ok()) << host.error().describe();
  auto config = parse_config(host->at("settings").dump(), "/etc/seed/seedd.json");
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_FALSE(config->node.network.egress.internet);
  EXPECT_EQ(config->node.network.egress.allow,
            (std::vector<net::EgressRule>{{"192.168.1.20/32", "tcp", 443}, {"fd00:1::/64", "", 0}}));
}

// services.seed.shoot: off by default (no shoot key: seedd's shoots are off without an image);
// on, the image's kernel, initrd and kernel parameters and what the owner set reach seedd's
// parser, and what was not set is left to seedd's defaults.
TEST_F(NixHost, ShootOptionsAreRenderedForSeedd) {
  auto off = eval("{ domain = \"seed.test\"; }");
  ASSERT_TRUE(off.ok()) << off.error().describe();
  EXPECT_FALSE(off->at("settings").contains("shoot")) << off->at("settings").dump(2);

  auto host = eval(R"({ domain = "seed.test"; shoot = { enable = true; maxVms = 6; perInstance = 2; queue = 0;
      tiers = [ { name = "small"; } { name = "large"; vcpus = 4; memoryMiB = 4096; pool = 0; } ]; }; })");
  ASSERT_TRUE(host.ok()) << host.error().describe();
  EXPECT_TRUE(host->at("assertions").empty()) << host->at("assertions").dump();
  auto config = parse_config(host->at("settings").dump(), "/etc/seed/seedd.json");
  ASSERT_TRUE(config.ok()) << config.error().describe() << "\n" << host->at("settings").dump(2);
  const auto& shoot = config->node.shoot;
  EXPECT_THAT(shoot.kernel, HasSubstr("-seed-shoot-image/kernel"));
  EXPECT_THAT(shoot.initrd, HasSubstr("-seed-shoot-image/initrd"));
  EXPECT_EQ(shoot.cmdline, "console=ttyS0 quiet");
  ASSERT_EQ(shoot.tiers.size(), 2u);
  EXPECT_EQ(shoot.tiers[0].name, "small");
  EXPECT_EQ(shoot.tiers[0].vcpus, 1u);
  EXPECT_EQ(shoot.tiers[0].memory_mib, 256u);
  EXPECT_EQ(shoot.tiers[0].pool, 1u);
  EXPECT_EQ(shoot.tiers[1].name, "large");
  EXPECT_EQ(shoot.tiers[1].vcpus, 4u);
  EXPECT_EQ(shoot.tiers[1].memory_mib, 4096u);
  EXPECT_EQ(shoot.tiers[1].pool, 0u);
  EXPECT_EQ(shoot.max_vms, 6u);
  EXPECT_EQ(shoot.per_instance, 2u);
  EXPECT_EQ(shoot.queue, 0u);
  // Not set: seedd's own defaults, the same as with no shoot key at all.
  Config defaults = default_config();
  EXPECT_EQ(shoot.max_memory_mib, defaults.node.shoot.max_memory_mib);
  EXPECT_EQ(shoot.node, defaults.node.shoot.node);
  EXPECT_EQ(shoot.output_cap, defaults.node.shoot.output_cap);
  EXPECT_FALSE(host->at("settings")["shoot"].contains("max_memory_mib"));

  auto no_image = eval(R"({ domain = "seed.test"; shoot = { enable = true; image = null; }; })");
  ASSERT_TRUE(no_image.ok()) << no_image.error().describe();
  ASSERT_EQ(no_image->at("assertions").size(), 1u);
  EXPECT_THAT(no_image->at("assertions")[0].get<std::string>(), HasSubstr("services.seed.shoot.image must be set"));
  auto bad_tier = eval(R"({ domain = "seed.test"; shoot = { enable = true; tiers = [ { name = "Big!"; } ]; }; })");
  ASSERT_FALSE(bad_tier.ok());
  EXPECT_THAT(bad_tier.error().message, HasSubstr("services.seed.shoot.tiers"));
}

TEST_F(NixHost, TheUnitKeepsVmsAliveAcrossRestarts) {
  auto host = eval("{ domain = \"seed.test\"; }");
  ASSERT_TRUE(host.ok()) << host.error().describe();
  const auto& unit = host->at("unit");
  EXPECT_EQ(unit["Type"], "notify");
  EXPECT_EQ(unit["KillMode"], "process");
  EXPECT_EQ(unit["Restart"], "on-failure");
  EXPECT_EQ(unit["StateDirectory"], "seed");
  EXPECT_EQ(unit["RuntimeDirectory"], "seedd");
  EXPECT_EQ(unit["RuntimeDirectoryPreserve"], true);
  EXPECT_EQ(unit["Delegate"], true);
  EXPECT_THAT(unit["ExecStart"].get<std::string>(), HasSubstr("--config /etc/seed/seedd.json run"));
  // A private mount namespace would hide one seedd's volume mounts from the next.
  for (const char* key : {"ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices"}) {
    EXPECT_FALSE(unit.contains(key)) << key;
  }
  const auto& fw = host->at("firewall");
  EXPECT_EQ(fw["allowedTCPPorts"], nlohmann::json({22, 53, 80, 443}));
  EXPECT_EQ(fw["allowedUDPPorts"], nlohmann::json({53}));
  EXPECT_EQ(fw["interfaces"]["seed0"]["allowedTCPPorts"], nlohmann::json({53, 9876}));
  EXPECT_TRUE(host->at("assertions").empty());
}

// Template flakes say `inputs.seed.url = "flake:seed"`: the module names the node's own Seed
// (and its nixpkgs) in seedd's registry file and the system registry, and keeps both in the
// store, so a planted flake evaluates offline against the guest module this node runs.
TEST_F(NixHost, TheNodesSeedIsWhatFlakeSeedResolvesTo) {
  auto host = eval(R"({ domain = "seed.test"; flake = {
      outPath = "/nix/store/11111111111111111111111111111111-source"; narHash = "sha256-seed"; lastModified = 7;
      rev = "not-for-a-path-entry";
      inputs.nixpkgs = { outPath = "/nix/store/22222222222222222222222222222222-source"; narHash = "sha256-np"; lastModified = 8; };
      inputs.sops-nix = { outPath = "/nix/store/33333333333333333333333333333333-source"; narHash = "sha256-sops"; }; }; })");
  ASSERT_TRUE(host.ok()) << host.error().describe();
  auto config = parse_config(host->at("settings").dump(), "/etc/seed/seedd.json");
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->node.eval.flake_registry, "/etc/seed/flake-registry.json");
  EXPECT_EQ(host->at("registry"), nlohmann::json::parse(R"({"version": 2, "flakes": [
      {"from": {"type": "indirect", "id": "seed"},
       "to": {"type": "path", "path": "/nix/store/11111111111111111111111111111111-source", "narHash": "sha256-seed", "lastModified": 7}},
      {"from": {"type": "indirect", "id": "nixpkgs"},
       "to": {"type": "path", "path": "/nix/store/22222222222222222222222222222222-source", "narHash": "sha256-np", "lastModified": 8}}]})"))
      << host->at("registry").dump(2);
  EXPECT_EQ(host->at("nixRegistry")["seed"], "/nix/store/11111111111111111111111111111111-source");
  std::set<std::string> kept = host->at("extraDependencies").get<std::set<std::string>>();
  EXPECT_EQ(kept, (std::set<std::string>{"/nix/store/11111111111111111111111111111111-source",
                                         "/nix/store/22222222222222222222222222222222-source",
                                         "/nix/store/33333333333333333333333333333333-source"}));

  // Without a flake (the module imported on its own): nix's own registries, nothing written.
  auto bare = eval("{ domain = \"seed.test\"; }");
  ASSERT_TRUE(bare.ok()) << bare.error().describe();
  EXPECT_FALSE(bare->at("settings")["eval"].contains("flake_registry"));
  EXPECT_TRUE(bare->at("registry").is_null());
  EXPECT_TRUE(bare->at("nixRegistry").empty());
}

TEST_F(NixHost, MisconfigurationsFailWithAnAssertion) {
  auto lvm = eval("{ domain = \"seed.test\"; storage.backend = \"lvm\"; }");
  ASSERT_TRUE(lvm.ok()) << lvm.error().describe();
  ASSERT_EQ(lvm->at("assertions").size(), 1u);
  EXPECT_THAT(lvm->at("assertions")[0].get<std::string>(),
              HasSubstr("services.seed.storage.volumeGroup must be set"));

  auto bad = eval("{ domain = \"seed.test\"; hypervisor = \"firecracker\"; }");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("services.seed.hypervisor"));
  EXPECT_THAT(bad.error().message, HasSubstr("\"cloud-hypervisor\", \"qemu\""));
}

}  // namespace
}  // namespace seed::nixtest
