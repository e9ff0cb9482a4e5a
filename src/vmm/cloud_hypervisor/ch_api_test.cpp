// The typed CH calls against recorded exchanges (testdata/exchanges) served on a real Unix
// socket. The replay server fails the test when a request differs from the recording.
#include "vmm/cloud_hypervisor/ch_api.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "vmm/cloud_hypervisor/ch_config.hpp"
#include "vmm/cloud_hypervisor/testing/ch_replay_server.hpp"
#include "vmm/cloud_hypervisor/testing/ch_test_util.hpp"

namespace seed::vmm::ch {
namespace {

using nlohmann::json;
using testing::ExchangeFile;
using testing::golden_spec;
using testing::load_exchanges;
using testing::pick;
using testing::RecordedExchange;
using testing::ReplayServer;
using testing::TempDir;

class ChApiTest : public ::testing::Test {
 protected:
  std::string socket() const { return tmp_.path() + "/api.sock"; }
  VmPaths paths() const { return VmPaths::for_vm(tmp_.path(), tmp_.path(), "web"); }
  std::map<std::string, std::string> vars() const {
    return {{"VM_DIR", paths().dir}, {"CONSOLE_PTY", "/dev/pts/7"}, {"SNAPSHOT_DIR", tmp_.path() + "/snap"}};
  }
  ExchangeFile file(const std::string& name) const { return load_exchanges(name, vars()); }
  void serve(std::vector<RecordedExchange> script) {
    server_ = std::make_unique<ReplayServer>(socket(), std::move(script));
  }
  ChApi api() const { return ChApi(ChHttpClient(socket(), HttpTimeouts{std::chrono::seconds(1), std::chrono::seconds(5)})); }
  void TearDown() override {
    if (server_) {
      EXPECT_TRUE(server_->pending().empty()) << "recorded calls never made, first: " << server_->pending().front();
    }
  }

  TempDir tmp_;
  std::unique_ptr<ReplayServer> server_;
};

TEST_F(ChApiTest, FullLifecycleMatchesTheRecording) {
  auto rec = file("lifecycle.json");
  EXPECT_EQ(rec.ch_version, "v53.0");
  serve(pick(rec, {"ping", "create", "info created", "boot", "info running", "pause", "info paused",
                   "resume", "info running", "pause", "info paused", "snapshot", "shutdown",
                   "info after shutdown", "delete", "info after delete", "vmm shutdown"}));
  ChApi ch = api();

  auto ping = ch.ping();
  ASSERT_TRUE(ping) << ping.error().describe();
  EXPECT_EQ(ping->parsed, (ChVersion{53, 0, 0}));
  EXPECT_EQ(ping->build_version, "v53.0");
  EXPECT_EQ(ping->pid, 4242);
  EXPECT_EQ(ping->features, (std::vector<std::string>{"io_uring", "kvm"}));

  ASSERT_TRUE(ch.create_vm(vm_config(golden_spec(), paths())));
  auto info = ch.vm_info();
  ASSERT_TRUE(info) << info.error().describe();
  EXPECT_EQ(info->state, VmState::created);
  // CH allocates the console pty at vm.create already.
  EXPECT_EQ(info->console_pty(), "/dev/pts/7");
  EXPECT_EQ(info->config.at("memory").at("shared"), true);

  ASSERT_TRUE(ch.boot_vm());
  info = ch.vm_info();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, VmState::running);
  EXPECT_EQ(info->state_name, "Running");
  EXPECT_EQ(info->memory_actual_size, 536870912u);

  ASSERT_TRUE(ch.pause_vm());
  EXPECT_EQ(ch.vm_info()->state, VmState::paused);
  ASSERT_TRUE(ch.resume_vm());
  EXPECT_EQ(ch.vm_info()->state, VmState::running);
  ASSERT_TRUE(ch.pause_vm());
  EXPECT_EQ(ch.vm_info()->state, VmState::paused);
  ASSERT_TRUE(ch.snapshot_vm("file://" + tmp_.path() + "/snap"));

  ASSERT_TRUE(ch.shutdown_vm());
  // CH drops the VM but keeps its config: vm.info says Created after a shutdown.
  EXPECT_EQ(ch.vm_info()->state, VmState::created);
  ASSERT_TRUE(ch.delete_vm());
  auto gone = ch.vm_info();
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
  EXPECT_EQ(gone.error().get("ch_error"), "Error from API : The VM info is not available : VM is not created");

  // vmm.shutdown answers 200 with an empty body, not the 204 the OpenAPI document lists.
  EXPECT_TRUE(ch.shutdown_vmm());
  EXPECT_TRUE(server_->mismatches().empty());
}

TEST_F(ChApiTest, AddFsHotplugReturnsTheDevice) {
  serve(pick(file("lifecycle.json"), {"add-fs hotplug", "power-button"}));
  ChApi ch = api();
  auto added = ch.add_fs(fs_device_config({"extra", "/srv/extra", false}, paths().fs_socket("extra")));
  ASSERT_TRUE(added) << added.error().describe();
  ASSERT_TRUE(added->has_value());
  EXPECT_EQ((**added).at("id"), "fs-extra");
  EXPECT_EQ((**added).at("bdf"), "0000:00:08.0");
  EXPECT_TRUE(ch.power_button());
}

TEST_F(ChApiTest, Http500KeepsTheErrorChainVerbatim) {
  serve(pick(file("errors.json"), {"create fs without shared memory", "boot fs without shared memory",
                                   "info still created"}));
  ChApi ch = api();
  json config = {{"payload", {{"kernel", golden_spec().kernel}}},
                 {"memory", {{"size", 536870912}, {"shared", false}}},
                 {"fs", json::array({{{"tag", "nix-store"}, {"socket", paths().fs_socket("nix-store")}}})}};
  ASSERT_TRUE(ch.create_vm(config));
  auto st = ch.boot_vm();
  ASSERT_FALSE(st);
  const Error& err = st.error();
  EXPECT_EQ(err.code, Errc::process_failed);
  EXPECT_EQ(err.message,
            "cloud-hypervisor refused vm.boot (HTTP 500): Error from API : The VM could not boot : "
            "Failed to validate config : Using vhost-user requires using shared memory or huge pages");
  EXPECT_EQ(err.get("ch_error"),
            "Error from API : The VM could not boot : Failed to validate config : Using vhost-user "
            "requires using shared memory or huge pages");
  EXPECT_EQ(err.get("http_status"), "500");
  EXPECT_EQ(err.get("endpoint"), "vm.boot");
  EXPECT_EQ(err.get("socket"), socket());
  // The state comes from vm.info, not from the 500.
  EXPECT_EQ(ch.vm_info()->state, VmState::created);
}

TEST_F(ChApiTest, ChRefusesTheConsoleOnASocket) {
  // Why console_config() uses Pty: CH answers this for mode Socket on the virtio-console.
  serve(pick(file("errors.json"), {"create with console socket"}));
  auto st = api().create_vm({{"payload", {{"kernel", golden_spec().kernel}}},
                             {"console", {{"mode", "Socket"}, {"socket", paths().agent_socket()}}}});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().get("ch_error"),
            "Error from API : The VM could not be created : Error creating console devices : No "
            "socket option support for console device");
}

TEST_F(ChApiTest, Http4xxIsNotFoundWithTheChain) {
  serve(pick(file("errors.json"), {"boot before create", "info before create"}));
  ChApi ch = api();
  auto st = ch.boot_vm();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::not_found);
  EXPECT_EQ(st.error().message,
            "cloud-hypervisor refused vm.boot (HTTP 404): Error from API : The VM could not boot : "
            "VM config is missing");
  auto info = ch.vm_info();
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, Errc::not_found);
}

TEST_F(ChApiTest, PlainTextErrorsOfOlderReleasesAreKeptVerbatim) {
  auto rec = file("errors_v46.json");
  serve(pick(rec, {"ping", "boot before create"}));
  ChApi ch = api();
  auto ping = ch.ping();
  ASSERT_TRUE(ping);
  EXPECT_FALSE(ch_supports(ping->parsed, ChFeature::error_chain_json));
  auto st = ch.boot_vm();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::process_failed);
  EXPECT_EQ(st.error().get("ch_error"), "Error from API: The VM could not boot: VM config is missing");
  EXPECT_EQ(st.error().message,
            "cloud-hypervisor refused vm.boot (HTTP 500): Error from API: The VM could not boot: VM "
            "config is missing");
}

TEST_F(ChApiTest, MalformedVmInfoIsAProtocolError) {
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"truncated JSON", R"({"config":{"cpus":{"boot_vcpus":2)"},
      {"not an object", R"(["Running"])"},
      {"no state", R"({"config":{}})"},
      {"unknown state", R"({"config":{},"state":"Hibernating"})"},
      {"empty", ""},
  };
  std::vector<RecordedExchange> script;
  for (const auto& [note, body] : bodies) {
    script.push_back({note, "GET", "/api/v1/vm.info", std::nullopt, 200,
                      {{"Content-Type", "application/json"}}, body});
  }
  serve(script);
  ChApi ch = api();
  for (const auto& [note, body] : bodies) {
    auto info = ch.vm_info();
    ASSERT_FALSE(info) << note;
    EXPECT_EQ(info.error().code, Errc::protocol) << note;
    EXPECT_NE(info.error().message.find("vm.info"), std::string::npos) << note;
    EXPECT_EQ(info.error().get("socket"), socket()) << note;
  }
}

TEST_F(ChApiTest, PingWithoutAReadableVersionIsAProtocolError) {
  serve({{"ping", "GET", "/api/v1/vmm.ping", std::nullopt, 200, {}, R"({"version":"dev"})"}});
  auto ping = api().ping();
  ASSERT_FALSE(ping);
  EXPECT_EQ(ping.error().code, Errc::protocol);
}

TEST_F(ChApiTest, ReplayServerFailsTheTestWhenARequestDiffers) {
  // The strictness the other tests rely on: a body that differs from the recording fails the
  // test with a readable diff, and the client sees a 500.
  auto script = pick(file("lifecycle.json"), {"create"});
  serve(script);
  VmSpec spec = golden_spec();
  spec.shares.clear();  // no fs section, private memory
  Status st;
  EXPECT_NONFATAL_FAILURE_ON_ALL_THREADS(st = api().create_vm(vm_config(spec, paths())),
                                         "at /memory/shared: expected true, got false");
  EXPECT_FALSE(st);
  EXPECT_EQ(server_->mismatches().size(), 1u);
}

TEST(ChApiErrors, ErrorChainParsing) {
  EXPECT_EQ(parse_error_chain(R"(["a","b"])"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parse_error_chain("Error from API: x"), std::nullopt);
  EXPECT_EQ(parse_error_chain("[]"), std::nullopt);
  EXPECT_EQ(parse_error_chain(R"(["a",1])"), std::nullopt);
  EXPECT_EQ(parse_error_chain(R"({"error":"a"})"), std::nullopt);
}

TEST(ChApiErrors, StatusCodesPickTheCodeAndEmptyBodiesSaySo) {
  auto err = ch_api_error("vm.resize", HttpResponse{429, "", ""}, "/s");
  EXPECT_EQ(err.code, Errc::in_use);
  EXPECT_EQ(err.message, "cloud-hypervisor refused vm.resize (HTTP 429) with an empty body");
  EXPECT_FALSE(err.get("ch_error"));
  EXPECT_EQ(ch_api_error("vm.create", HttpResponse{400, R"(["Bad Request"])", ""}, "/s").code,
            Errc::invalid_argument);
  EXPECT_EQ(ch_api_error("vm.pause", HttpResponse{405, "", ""}, "/s").code, Errc::conflict);
}

TEST(ChApiErrors, VmStates) {
  EXPECT_EQ(*parse_vm_state("Created"), VmState::created);
  EXPECT_EQ(*parse_vm_state("Running"), VmState::running);
  EXPECT_EQ(*parse_vm_state("Paused"), VmState::paused);
  EXPECT_EQ(*parse_vm_state("BreakPoint"), VmState::paused);
  EXPECT_EQ(*parse_vm_state("Shutdown"), VmState::shutdown);
  EXPECT_FALSE(parse_vm_state("running"));
  for (auto s : {VmState::created, VmState::running, VmState::paused, VmState::shutdown}) {
    EXPECT_EQ(*parse_vm_state(vm_state_name(s)), s);
  }
}

}  // namespace
}  // namespace seed::vmm::ch
