// lib/meta.nix evaluated by real nix: every positive case against its hand-written expected
// meta, every negative case must fail with a message naming the option and what is allowed,
// and the well-known service table must agree with the machine's /etc/services.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/temp_dir.hpp"
#include "nix_runner.hpp"

namespace seed::nixtest {
namespace {

using ::testing::HasSubstr;

class NixMeta : public ::testing::Test {
 protected:
  std::string entry() const { return source_dir() + "/tests/nix/eval-pure.nix"; }

  std::vector<std::string> case_names(const std::string& kind) {
    auto names = eval_file_json(entry(), {{"kind", kind}}, home_.path());
    EXPECT_TRUE(names.ok()) << names.error().describe();
    if (!names) return {};
    return names->get<std::vector<std::string>>();
  }

  testing::TempDir home_;
};

TEST_F(NixMeta, PositiveCasesMatchTheirExpectedMeta) {
  auto names = case_names("good");
  ASSERT_GE(names.size(), 5u) << "tests/nix/good.nix lost its cases";
  for (const auto& name : names) {
    SCOPED_TRACE("case " + name);
    auto expected = read_json(source_dir() + "/tests/nix/expected/" + name + ".json");
    ASSERT_FALSE(expected.is_discarded()) << "missing or invalid tests/nix/expected/" << name << ".json";
    auto meta = eval_file_json(entry(), {{"kind", "good"}, {"case", name}}, home_.path());
    ASSERT_TRUE(meta.ok()) << meta.error().describe();
    EXPECT_EQ(*meta, expected) << "got:\n" << meta->dump(2);
  }
}

TEST_F(NixMeta, NegativeCasesFailNamingTheOption) {
  auto names = case_names("bad");
  ASSERT_GE(names.size(), 20u) << "tests/nix/bad.nix lost its cases";
  // The substrings each case's message must contain, read from bad.nix itself.
  auto errors = eval_file_json(source_dir() + "/tests/nix/bad-errors.nix", {}, home_.path());
  ASSERT_TRUE(errors.ok()) << errors.error().describe();
  for (const auto& name : names) {
    SCOPED_TRACE("case " + name);
    auto r = run_nix({"nix-instantiate", "--eval", "--strict", "--json", "--readonly-mode",
                      entry(), "--argstr", "kind", "bad", "--argstr", "case", name},
                     home_.path());
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_FALSE(r->ok) << "evaluated, but must fail: " << r->out;
    EXPECT_THAT(r->err, HasSubstr("seed instance "));
    EXPECT_THAT(r->err, HasSubstr("invalid option value(s):"));
    for (const auto& want : errors->at(name)) {
      EXPECT_THAT(r->err, HasSubstr(want.get<std::string>()));
    }
  }
}

TEST_F(NixMeta, ProblemsGoAwayOnceTheValueIsFixed) {
  // Fixing every problem of a bad case gives a valid instance: problems are not sticky.
  auto r = run_nix({"nix-instantiate", "--eval", "--strict", "--json", "--readonly-mode", "-E",
                    "let m = import " + source_dir() + "/lib/meta.nix; in "
                    "[ (m.problems { name = \"web\"; seed.size = \"huge\"; }) "
                    "  (m.problems { name = \"web\"; seed.size = \"m\"; }) ]"},
                   home_.path());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_TRUE(r->ok) << r->err;
  auto j = nlohmann::json::parse(r->out);
  EXPECT_EQ(j[0].size(), 1u);
  EXPECT_TRUE(j[1].empty()) << j[1].dump();
}

// /etc/services: name -> port -> set of transports. A name's own lines win over lines that
// list it as an alias ("shell 514/tcp cmd syslog" must not make syslog TCP).
std::map<std::string, std::map<int, std::set<std::string>>> read_etc_services() {
  std::map<std::string, std::map<int, std::set<std::string>>> out, aliases;
  std::ifstream in("/etc/services");
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    std::string name, port_proto, alias;
    if (!(fields >> name >> port_proto)) continue;
    auto slash = port_proto.find('/');
    if (slash == std::string::npos) continue;
    int port = std::stoi(port_proto.substr(0, slash));
    std::string proto = port_proto.substr(slash + 1);
    out[name][port].insert(proto);
    while (fields >> alias) aliases[alias][port].insert(proto);
  }
  for (auto& [name, ports] : aliases) out.try_emplace(name, std::move(ports));
  return out;
}

TEST_F(NixMeta, WellKnownServicesAgreeWithEtcServices) {
  auto services = read_etc_services();
  if (services.empty()) GTEST_SKIP() << "/etc/services is missing (install Debian's netbase)";
  auto table = eval_file_json(source_dir() + "/lib/services.nix", {}, home_.path());
  ASSERT_TRUE(table.ok()) << table.error().describe();
  ASSERT_TRUE(table->contains("http") && table->contains("dns") && table->contains("postgresql"));
  // Names the tenant contract uses that /etc/services spells differently.
  const std::map<std::string, std::string> our_aliases = {{"dns", "domain"}};
  const std::set<std::string> http_family = {"http", "www", "https", "http-alt", "webcache"};
  for (const auto& [name, entry] : table->items()) {
    SCOPED_TRACE("service " + name);
    std::string lookup = our_aliases.count(name) ? our_aliases.at(name) : name;
    ASSERT_TRUE(services.count(lookup)) << name << " is not in /etc/services";
    int port = entry.at("port").get<int>();
    ASSERT_TRUE(services[lookup].count(port))
        << name << ": /etc/services has another port than " << port;
    const auto& transports = services[lookup][port];
    std::string want = http_family.count(name)             ? "http"
                       : lookup == "domain"                ? "dns"
                       : transports.count("tcp")           ? "tcp"
                                                           : "udp";
    EXPECT_EQ(entry.at("protocol").get<std::string>(), want);
  }
}

}  // namespace
}  // namespace seed::nixtest
