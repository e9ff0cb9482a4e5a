#include "common/testing/temp_dir.hpp"
#include "vmm/vm_spec.hpp"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/fd.hpp"
#include "vmm/vm_spec_json.hpp"

namespace seed::vmm {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

class VmSpecTest : public ::testing::Test {
 protected:
  seed::testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
  void SetUp() override {
    ASSERT_TRUE(write_file_atomic(dir_ + "/vmlinuz", "kernel").ok());
    ASSERT_TRUE(write_file_atomic(dir_ + "/initrd", "initrd").ok());
    std::filesystem::create_directory(dir_ + "/store");
    std::filesystem::create_directory(dir_ + "/data");
  }

  VmSpec good() const {
    VmSpec s;
    s.name = "web-1";
    s.vcpus = 2;
    s.memory_mib = 1024;
    s.kernel = dir_ + "/vmlinuz";
    s.initrd = dir_ + "/initrd";
    s.cmdline = "console=ttyS0 quiet";
    s.shares = {{"nix-store", dir_ + "/store", true}, {"data_1", dir_ + "/data", false}};
    s.nets = {{"seedtap0", "52:54:00:12:34:56"}};
    return s;
  }

};

Error failure(const VmSpec& spec) {
  auto st = validate(spec);
  EXPECT_FALSE(st.ok());
  return st.ok() ? Error{} : st.error();
}

TEST_F(VmSpecTest, GoodSpecPasses) {
  auto st = validate(good());
  EXPECT_TRUE(st.ok()) << st.error().describe();
  VmSpec minimal = good();
  minimal.initrd.clear();
  minimal.shares.clear();
  minimal.nets.clear();
  EXPECT_TRUE(validate(minimal).ok());
}

TEST_F(VmSpecTest, MissingKernel) {
  VmSpec s = good();
  s.kernel = dir_ + "/nope";
  Error e = failure(s);
  EXPECT_EQ(e.code, Errc::not_found);
  EXPECT_THAT(e.message, HasSubstr("kernel"));
  EXPECT_THAT(e.message, HasSubstr(dir_ + "/nope"));
  EXPECT_EQ(e.get("stage"), "prepare");
  EXPECT_EQ(e.get("vm"), "web-1");
  EXPECT_EQ(e.get("file"), dir_ + "/nope");
}

TEST_F(VmSpecTest, KernelNotSetOrNotAFile) {
  VmSpec s = good();
  s.kernel.clear();
  EXPECT_EQ(failure(s).code, Errc::invalid_argument);
  s.kernel = dir_ + "/store";
  Error e = failure(s);
  EXPECT_EQ(e.code, Errc::invalid_argument);
  EXPECT_THAT(e.message, HasSubstr("not a regular file"));
}

TEST_F(VmSpecTest, MissingInitrd) {
  VmSpec s = good();
  s.initrd = dir_ + "/missing-initrd";
  Error e = failure(s);
  EXPECT_EQ(e.code, Errc::not_found);
  EXPECT_THAT(e.message, HasSubstr("initrd"));
  EXPECT_EQ(e.get("stage"), "prepare");
}

TEST_F(VmSpecTest, MissingShareDirectory) {
  VmSpec s = good();
  s.shares[1].host_path = dir_ + "/absent";
  Error e = failure(s);
  EXPECT_EQ(e.code, Errc::not_found);
  EXPECT_THAT(e.message, HasSubstr(dir_ + "/absent"));
  EXPECT_EQ(e.get("share"), "data_1");
  EXPECT_EQ(e.get("stage"), "prepare");
}

TEST_F(VmSpecTest, ShareThatIsAFile) {
  VmSpec s = good();
  s.shares[0].host_path = dir_ + "/vmlinuz";
  EXPECT_EQ(failure(s).get("share"), "nix-store");
}

TEST_F(VmSpecTest, UnreadableShareDirectory) {
  // Root reads everything, so check as an unprivileged user in a child process.
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir_ + "/vmlinuz").c_str(), 0644), 0);
  ASSERT_EQ(::chmod((dir_ + "/initrd").c_str(), 0644), 0);
  ASSERT_EQ(::chmod((dir_ + "/store").c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir_ + "/data").c_str(), 0700), 0);
  VmSpec s = good();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && ::setresuid(65534, 65534, 65534) != 0) ::_exit(90);
    auto st = validate(s);
    if (st.ok()) ::_exit(91);
    if (st.error().code != Errc::permission_denied) ::_exit(92);
    if (st.error().get("share") != "data_1") ::_exit(93);
    if (st.error().message.find("not readable: " + dir_ + "/data") == std::string::npos) ::_exit(94);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "90: setresuid, 91: passed, 92: code, 93: share, 94: message";
}

TEST_F(VmSpecTest, BadNames) {
  for (const char* bad : {"", "Web", "web_1", "-web", "web-", "web.1", "a b"}) {
    VmSpec s = good();
    s.name = bad;
    Error e = failure(s);
    EXPECT_EQ(e.code, Errc::invalid_argument) << bad;
    EXPECT_EQ(e.get("stage"), "prepare");
  }
  VmSpec s = good();
  s.name = std::string(64, 'a');
  EXPECT_FALSE(validate(s).ok());
  s.name = std::string(63, 'a');
  EXPECT_TRUE(validate(s).ok());
  EXPECT_TRUE(valid_vm_name("0-a"));
}

TEST_F(VmSpecTest, Resources) {
  VmSpec s = good();
  s.vcpus = 0;
  EXPECT_THAT(failure(s).message, HasSubstr("vcpus"));
  s.vcpus = 256;
  EXPECT_FALSE(validate(s).ok());
  s.vcpus = 255;
  EXPECT_TRUE(validate(s).ok());
  s.memory_mib = 63;
  EXPECT_THAT(failure(s).message, HasSubstr("memory"));
}

TEST_F(VmSpecTest, Macs) {
  EXPECT_TRUE(valid_mac("52:54:00:ab:CD:ef"));
  for (const char* bad : {"", "52:54:00:12:34", "52:54:00:12:34:567", "52-54-00-12-34-56",
                          "52:54:00:12:34:5g", "5254:00:12:34:56:", "52:54:00:12:34:56:"}) {
    EXPECT_FALSE(valid_mac(bad)) << bad;
    VmSpec s = good();
    s.nets[0].mac = bad;
    Error e = failure(s);
    EXPECT_EQ(e.code, Errc::invalid_argument);
    EXPECT_THAT(e.message, HasSubstr("MAC"));
  }
}

TEST_F(VmSpecTest, MulticastMacRefused) {
  VmSpec s = good();
  s.nets[0].mac = "53:54:00:12:34:56";  // bit 0 of the first octet: a group address
  Error e = failure(s);
  EXPECT_EQ(e.code, Errc::invalid_argument);
  EXPECT_THAT(e.message, HasSubstr("multicast"));
  s.nets[0].mac = "02:00:00:00:00:01";  // locally administered unicast is fine
  EXPECT_TRUE(validate(s).ok());
}

TEST_F(VmSpecTest, DuplicateTapsAndMacsRefused) {
  VmSpec s = good();
  s.nets.push_back({s.nets[0].tap, "52:54:00:00:00:99"});
  Error e = failure(s);
  EXPECT_THAT(e.message, HasSubstr("attached twice"));
  EXPECT_EQ(e.get("stage"), "prepare");
  s.nets[1] = {"tap-other", s.nets[0].mac};
  EXPECT_THAT(failure(s).message, HasSubstr("used by two interfaces"));
  // The same address spelled in another case is the same address.
  std::string upper = s.nets[0].mac;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  s.nets[1].mac = upper;
  EXPECT_THAT(failure(s).message, HasSubstr("used by two interfaces"));
  s.nets[1].mac = "52:54:00:00:00:99";
  EXPECT_TRUE(validate(s).ok());
}

TEST_F(VmSpecTest, TapNames) {
  VmSpec s = good();
  s.nets[0].tap = std::string(15, 't');
  EXPECT_TRUE(validate(s).ok());
  s.nets[0].tap = std::string(16, 't');
  EXPECT_THAT(failure(s).message, HasSubstr("1-15 characters"));
  s.nets[0].tap.clear();
  EXPECT_FALSE(validate(s).ok());
  // The name goes into QEMU's comma-separated option syntax and into netlink requests.
  for (const char* bad : {"tap0,fd=3", "tap 0", "tap/0", "tap0=x"}) {
    s.nets[0].tap = bad;
    EXPECT_FALSE(validate(s).ok()) << bad;
  }
}

TEST_F(VmSpecTest, ShareTags) {
  VmSpec s = good();
  s.shares[1].tag = "nix-store";
  EXPECT_THAT(failure(s).message, HasSubstr("repeated"));
  s.shares[1].tag = "";
  EXPECT_FALSE(validate(s).ok());
  s.shares[1].tag = std::string(37, 'x');
  EXPECT_FALSE(validate(s).ok());
  s.shares[1].tag = std::string(36, 'x');
  EXPECT_TRUE(validate(s).ok());
  s.shares[1].tag = "a,b";
  EXPECT_THAT(failure(s).message, HasSubstr("may only hold"));
}

TEST_F(VmSpecTest, JsonRoundTrip) {
  VmSpec s = good();
  s.tpm_socket = dir_ + "/swtpm.sock";
  json j = to_json(s);
  auto back = vm_spec_from_json(json::parse(j.dump()), "vm.json");
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->name, "web-1");
  EXPECT_EQ(back->vcpus, 2u);
  EXPECT_EQ(back->memory_mib, 1024u);
  ASSERT_EQ(back->shares.size(), 2u);
  EXPECT_EQ(back->shares[0].tag, "nix-store");
  EXPECT_TRUE(back->shares[0].read_only);
  EXPECT_FALSE(back->shares[1].read_only);
  ASSERT_EQ(back->nets.size(), 1u);
  EXPECT_EQ(back->nets[0].mac, "52:54:00:12:34:56");
  EXPECT_EQ(back->tpm_socket, dir_ + "/swtpm.sock");
}

// A shoot template's spec.json must keep its spare root ports: the restoring QEMU has to be
// the same machine (q35 with the same ports) or the migration stream does not load.
TEST_F(VmSpecTest, JsonRoundTripKeepsHotplugSlots) {
  VmSpec s = good();
  s.hotplug_slots = 3;
  auto back = vm_spec_from_json(json::parse(to_json(s).dump()), "spec.json");
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->hotplug_slots, 3u);
}

TEST_F(VmSpecTest, JsonDefaultsAndRequired) {
  auto minimal = vm_spec_from_json(json{{"name", "a"}, {"kernel", "/k"}}, "vm.json");
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->vcpus, 1u);
  EXPECT_EQ(minimal->memory_mib, 512u);
  EXPECT_TRUE(minimal->shares.empty());
  auto missing = vm_spec_from_json(json{{"name", "a"}}, "vm.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("kernel: missing"));
}

TEST_F(VmSpecTest, JsonUnknownKeyInShareElement) {
  json j = to_json(good());
  j["shares"][1]["readonly"] = true;
  auto r = vm_spec_from_json(j, "vm.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_THAT(r.error().message, HasSubstr("shares[1].readonly: unknown key; did you mean 'read_only'?"));
  EXPECT_EQ(r.error().get("file"), "vm.json");
}

TEST_F(VmSpecTest, JsonBadShapes) {
  json j = to_json(good());
  j["shares"] = "not-an-array";
  auto r = vm_spec_from_json(j, "vm.json");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("shares: expected an array"));
  json k = to_json(good());
  k["nets"][0].erase("mac");
  auto r2 = vm_spec_from_json(k, "vm.json");
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(r2.error().message, HasSubstr("nets[0].mac: missing"));
  json l = to_json(good());
  l["vcpus"] = 4294967297ULL;  // must not wrap around to 1
  auto r3 = vm_spec_from_json(l, "vm.json");
  EXPECT_TRUE(!r3.ok() || r3->vcpus != 1u);
}

}  // namespace
}  // namespace seed::vmm
