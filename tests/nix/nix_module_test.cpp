// nixos-module/guest/options.nix under lib.evalModules with nixpkgs' real `lib`
// (tests/nix/eval-module.nix): the flake templates give their expected meta, firewall and
// /etc/seed files; bad modules fail with nixpkgs' type errors or our assertions. nixpkgs is
// not installable here, so this runs only when SEED_NIXPKGS_LIB names a nixpkgs `lib`
// directory (see tests/nix/README.md) and says so loudly otherwise.
#include <stdlib.h>

#include <fstream>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/temp_dir.hpp"
#include "nix_runner.hpp"

namespace seed::nixtest {
namespace {

using ::testing::HasSubstr;

class NixModule : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* lib = ::getenv("SEED_NIXPKGS_LIB");
    if (lib == nullptr || *lib == '\0') {
      GTEST_SKIP() << "SEED_NIXPKGS_LIB is not set: the NixOS option module is only parsed, "
                      "not evaluated (nixpkgs is not available offline). Set it to a nixpkgs "
                      "lib directory to run these tests; see tests/nix/README.md";
    }
    lib_ = lib;
  }
  std::string harness() const { return source_dir() + "/tests/nix/eval-module.nix"; }

  std::string lib_;
  testing::TempDir home_;
};

TEST_F(NixModule, TemplatesGiveTheirExpectedMeta) {
  auto templates = eval_file_json(source_dir() + "/tests/nix/templates.nix", {}, home_.path());
  ASSERT_TRUE(templates.ok()) << templates.error().describe();
  ASSERT_EQ(templates->size(), 5u);
  for (const auto& t : *templates) {
    std::string dir = t["dir"], file = t["file"], name = t["name"];
    SCOPED_TRACE(dir + "/" + file);
    auto expected = read_json(source_dir() + "/tests/nix/expected/template-" + dir + "-" + name + ".json");
    ASSERT_FALSE(expected.is_discarded());
    auto got = eval_file_json(harness(),
                              {{"nixpkgsLib", lib_}, {"template", dir + "/" + file}, {"name", name}},
                              home_.path());
    ASSERT_TRUE(got.ok()) << got.error().describe();
    EXPECT_EQ(got->at("meta"), expected) << got->at("meta").dump(2);

    // The guest firewall opens exactly the exposed ports, per transport.
    std::set<int> tcp, udp;
    for (const auto& [_, e] : expected["expose"].items()) {
      for (const auto& tr : e["transports"]) (tr == "tcp" ? tcp : udp).insert(e["port"].get<int>());
    }
    EXPECT_EQ(got->at("firewall").at("tcp").get<std::set<int>>(), tcp);
    EXPECT_EQ(got->at("firewall").at("udp").get<std::set<int>>(), udp);

    // /etc/seed/meta.json is the meta; every connect entry has its file.
    const auto& etc = got->at("etc");
    EXPECT_EQ(nlohmann::json::parse(etc.at("seed/meta.json").get<std::string>()), expected);
    for (const auto& [n, c] : expected["connect"].items()) {
      ASSERT_TRUE(etc.contains("seed/connect/" + n)) << n;
      EXPECT_EQ(etc.at("seed/connect/" + n), c["value"]);
    }
  }
}

TEST_F(NixModule, BadModulesFailNamingTheOption) {
  auto errors = eval_file_json(source_dir() + "/tests/nix/bad-module-errors.nix", {}, home_.path());
  ASSERT_TRUE(errors.ok()) << errors.error().describe();
  ASSERT_GE(errors->size(), 8u);
  for (const auto& [fixture, wants] : errors->items()) {
    SCOPED_TRACE("fixture " + fixture);
    auto r = run_nix({"nix-instantiate", "--eval", "--strict", "--json", "--readonly-mode",
                      harness(), "--argstr", "nixpkgsLib", lib_, "--argstr", "fixture", fixture},
                     home_.path());
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_FALSE(r->ok) << "evaluated, but must fail: " << r->out;
    for (const auto& want : wants) EXPECT_THAT(r->err, HasSubstr(want.get<std::string>()));
  }
}

TEST_F(NixModule, AcmeDefaultFollowsTheProtocolsAndCanBeOverridden) {
  auto eval = [&](const std::string& module) {
    return run_nix({"nix-instantiate", "--eval", "--strict", "--json", "--readonly-mode", "-E",
                    "let lib = import " + lib_ + "; in (lib.evalModules { modules = [ "
                    "(import " + source_dir() + "/tests/nix/stubs.nix { inherit lib; }) "
                    "(import " + source_dir() + "/nixos-module/guest/options.nix) "
                    "{ seed.name = \"x\"; } " + module + " ]; }).config.seed.meta.acme"},
                   home_.path());
  };
  for (const auto& [module, want] : std::vector<std::pair<std::string, std::string>>{
           {"{ seed.expose.ssh.enable = true; }", "false"},
           {"{ seed.expose.grpc-api = { port = 50051; protocol = \"grpc\"; }; }", "true"},
           {"{ seed.expose.https.enable = true; seed.acme = false; }", "false"}}) {
    SCOPED_TRACE(module);
    auto r = eval(module);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    ASSERT_TRUE(r->ok) << r->err;
    EXPECT_EQ(r->out, want);
  }
}

// Issue 13.8 through the option type: a bare port on a well-known name keeps the name's
// protocol (the type's coercion used to write protocol = "http" before lib/meta.nix saw it).
TEST_F(NixModule, BarePortKeepsTheWellKnownProtocol) {
  auto r = run_nix({"nix-instantiate", "--eval", "--strict", "--json", "--readonly-mode", "-E",
                    "let lib = import " + lib_ + "; c = (lib.evalModules { modules = [ "
                    "(import " + source_dir() + "/tests/nix/stubs.nix { inherit lib; }) "
                    "(import " + source_dir() + "/nixos-module/guest/options.nix) "
                    "{ seed.name = \"x\"; seed.expose = { dns = 5353; ssh = 2222; web = 8080; }; } ]; }).config; "
                    "in { dns = c.seed.meta.expose.dns.protocol; ssh = c.seed.meta.expose.ssh.protocol; "
                    "web = c.seed.meta.expose.web.protocol; port = c.seed.meta.expose.dns.port; "
                    "udp = c.networking.firewall.allowedUDPPorts; }"},
                   home_.path());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_TRUE(r->ok) << r->err;
  EXPECT_EQ(r->out, R"({"dns":"dns","port":5353,"ssh":"tcp","udp":[5353],"web":"http"})");
}

}  // namespace
}  // namespace seed::nixtest
