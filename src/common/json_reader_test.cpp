#include "common/json_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seed {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

json doc(const char* text) { return json::parse(text); }

TEST(JsonReader, ReadsEveryType) {
  json j = doc(R"({"s": "text", "b": true, "i": -5, "u": 7, "list": ["a", "b"]})");
  std::string s;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  std::vector<std::string> list;
  JsonReader r(j, "test.json");
  r.get("s", s).get("b", b).get("i", i).get("u", u).get("list", list);
  auto st = r.finish();
  ASSERT_TRUE(st.ok()) << st.error().describe();
  EXPECT_EQ(s, "text");
  EXPECT_TRUE(b);
  EXPECT_EQ(i, -5);
  EXPECT_EQ(u, 7u);
  EXPECT_EQ(list, (std::vector<std::string>{"a", "b"}));
}

TEST(JsonReader, AbsentKeysKeepDefaults) {
  json j = json::object();
  std::string s = "default";
  uint64_t u = 42;
  JsonReader r(j, "test.json");
  r.get("s", s).get("u", u);
  EXPECT_TRUE(r.finish().ok());
  EXPECT_EQ(s, "default");
  EXPECT_EQ(u, 42u);
}

TEST(JsonReader, RequiredKeyMissing) {
  json j = json::object();
  std::string name;
  JsonReader r(j, "spec.json");
  r.get("name", name, true);
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::invalid_argument);
  EXPECT_THAT(st.error().message, HasSubstr("name: missing (expected a string)"));
  EXPECT_EQ(st.error().get("file"), "spec.json");
}

TEST(JsonReader, WrongTypesNameTheValue) {
  json j = doc(R"({"s": 3, "b": "yes", "i": 1.5, "u": -1, "list": ["a", 2]})");
  std::string s = "keep";
  bool b = false;
  int64_t i = 0;
  uint64_t u = 9;
  std::vector<std::string> list;
  JsonReader r(j, "c.json");
  r.get("s", s).get("b", b).get("i", i).get("u", u).get("list", list);
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_THAT(m, HasSubstr("c.json: 5 problems"));
  EXPECT_THAT(m, HasSubstr("s: expected a string, got the integer 3"));
  EXPECT_THAT(m, HasSubstr("b: expected true or false, got the string \"yes\""));
  EXPECT_THAT(m, HasSubstr("i: expected an integer, got the number 1.5"));
  EXPECT_THAT(m, HasSubstr("u: expected a non-negative integer, got the integer -1"));
  EXPECT_THAT(m, HasSubstr("list: expected an array of strings, got an array"));
  // Wrong values never overwrite the output.
  EXPECT_EQ(s, "keep");
  EXPECT_EQ(u, 9u);
  EXPECT_TRUE(list.empty());
}

TEST(JsonReader, UnknownKeyWithSuggestion) {
  json j = doc(R"({"hypervisr": "qemu", "zzzzzzzz": 1})");
  std::string hv;
  JsonReader r(j, "seedd.json");
  r.get("hypervisor", hv);
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_THAT(m, HasSubstr("hypervisr: unknown key; did you mean 'hypervisor'?"));
  // Nothing close: no suggestion.
  EXPECT_THAT(m, HasSubstr("zzzzzzzz: unknown key"));
  EXPECT_THAT(m, Not(HasSubstr("zzzzzzzz: unknown key;")));
  EXPECT_THAT(m, HasSubstr("seedd.json: 2 problems"));
}

TEST(JsonReader, NestedObjectPaths) {
  json j = doc(R"({"vmm": {"hypervisor": 5, "acel": "kvm", "deep": {"x": "no"}}})");
  std::string hv, accel;
  int64_t x = 0;
  JsonReader r(j, "seedd.json");
  auto& vmm = r.object("vmm");
  vmm.get("hypervisor", hv).get("accel", accel);
  vmm.object("deep").get("x", x);
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_THAT(m, HasSubstr("vmm.hypervisor: expected a string, got the integer 5"));
  EXPECT_THAT(m, HasSubstr("vmm.acel: unknown key; did you mean 'accel'?"));
  EXPECT_THAT(m, HasSubstr("vmm.deep.x: expected an integer, got the string \"no\""));
  EXPECT_EQ(vmm.path_of("qemu_binary"), "vmm.qemu_binary");
}

TEST(JsonReader, AbsentNestedObjectIsEmpty) {
  json j = json::object();
  std::string hv = "auto";
  JsonReader r(j, "seedd.json");
  r.object("vmm").get("hypervisor", hv);
  EXPECT_TRUE(r.finish().ok());
  EXPECT_EQ(hv, "auto");
}

// Two parts of seedd read the "ssh" section (the node's port, the server's limits): each
// knows only its own keys, and neither may call the other's unknown.
TEST(JsonReader, ObjectReadInTwoPlacesKnowsBothKeySets) {
  json j = doc(R"({"ssh": {"port": 22, "max_per_source": 8, "max_per_sorce": 1}})");
  uint64_t port = 0, per_source = 0;
  JsonReader r(j, "seedd.json");
  r.object("ssh").get("port", port);
  r.object("ssh").get("max_per_source", per_source);
  auto problems = r.finish_problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("ssh.max_per_sorce: unknown key; did you mean 'max_per_source'?"));
  EXPECT_EQ(port, 22u);
  EXPECT_EQ(per_source, 8u);
}

TEST(JsonReader, NestedValueThatIsNotAnObject) {
  json j = doc(R"({"vmm": [1, 2]})");
  JsonReader r(j, "seedd.json");
  std::string hv;
  r.object("vmm").get("hypervisor", hv);
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("vmm: expected an object, got an array"));
}

TEST(JsonReader, TopLevelNotAnObject) {
  json j = doc("[1]");
  JsonReader r(j, "x.json");
  std::string s;
  r.get("s", s);
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("top level: expected an object, got an array"));
}

TEST(JsonReader, EnumAllowedValues) {
  json j = doc(R"({"accel": "kvm", "hv": "xen"})");
  std::string accel = "auto", hv = "auto";
  JsonReader r(j, "seedd.json");
  r.get_enum("accel", accel, {"auto", "kvm", "tcg"});
  r.get_enum("hv", hv, {"auto", "cloud-hypervisor", "qemu"});
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(accel, "kvm");
  EXPECT_EQ(hv, "auto");  // a rejected value leaves the default
  EXPECT_THAT(st.error().message,
              HasSubstr("hv: 'xen' is not one of: auto, cloud-hypervisor, qemu"));
  EXPECT_THAT(st.error().message, HasSubstr("1 problem\n"));
}

TEST(JsonReader, EnumWrongTypeReportedOnce) {
  json j = doc(R"({"accel": 1})");
  std::string accel = "auto";
  JsonReader r(j, "seedd.json");
  r.get_enum("accel", accel, {"auto", "kvm"});
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("accel: expected a string, got the integer 1"));
  EXPECT_THAT(st.error().message, HasSubstr(": 1 problem"));
}

TEST(JsonReader, RequiredEnumMissing) {
  json j = json::object();
  std::string mode;
  JsonReader r(j, "x.json");
  r.get_enum("mode", mode, {"a", "b"}, true);
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("mode: missing"));
}

TEST(JsonReader, RawMarksKeyKnown) {
  json j = doc(R"({"shares": [{"tag": "a"}], "other": 1})");
  JsonReader r(j, "x.json");
  const json* shares = r.raw("shares");
  ASSERT_NE(shares, nullptr);
  EXPECT_TRUE(shares->is_array());
  EXPECT_EQ(r.raw("absent"), nullptr);
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("other: unknown key"));
  EXPECT_THAT(st.error().message, Not(HasSubstr("shares")));
}

TEST(JsonReader, ReportsAllProblemsAtOnce) {
  json j = doc(R"({"a": 1, "b": 2, "vmm": {"c": true}})");
  std::string a;
  bool b = false;
  std::string required;
  JsonReader r(j, "all.json");
  r.get("a", a).get("b", b).get("must", required, true);
  r.object("vmm");
  auto st = r.finish();
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_THAT(m, HasSubstr("all.json: 4 problems"));
  EXPECT_THAT(m, HasSubstr("\n  a: expected a string"));
  EXPECT_THAT(m, HasSubstr("\n  b: expected true or false"));
  EXPECT_THAT(m, HasSubstr("\n  must: missing"));
  EXPECT_THAT(m, HasSubstr("\n  vmm.c: unknown key"));
}

TEST(ParseJson, ValidDocument) {
  auto r = parse_json(R"({"a": [1, 2]})", "x.json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["a"][1], 2);
}

TEST(ParseJson, SyntaxErrorNamesByteOffset) {
  auto r = parse_json("{\"a\": 1,, }", "/etc/seed/seedd.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_THAT(r.error().message, HasSubstr("/etc/seed/seedd.json: not valid JSON at byte 9"));
  EXPECT_EQ(r.error().get("file"), "/etc/seed/seedd.json");
}

TEST(ParseJson, EmptyInput) {
  auto r = parse_json("", "empty.json");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("empty.json: not valid JSON at byte"));
}

}  // namespace
}  // namespace seed
