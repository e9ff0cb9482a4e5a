#include "engine_fixture.hpp"

#include "node_parts.hpp"

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "storage/command_runner.hpp"
#include "storage/file_driver.hpp"
#include "tests/flakes/test_flake.hpp"
#include "vmm/qemu/qemu_driver.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {
namespace fs = std::filesystem;

namespace {

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}


}  // namespace

void EngineTest::SetUp() {
  ASSERT_TRUE(fs::exists(vmm::testing::guest_dir() + "/kernel"))
      << "the hermetic test guest is missing; build it with tests/guest/build-guest.sh " << vmm::testing::guest_dir();
  net::testing::TestNetns::sweep_stale();
  netns_ = std::make_unique<net::testing::TestNetns>("e2e");
  netns_->ip({"link", "set", "lo", "up"});
  config_ = node_config(root());

  net::dns::ZoneConfig zc;
  zc.domain = "seed.test";
  zc.nameservers = {{"ns1.seed.test", "10.77.0.1", ""}};
  auto zone = net::dns::ZoneStore::create(zc);
  ASSERT_TRUE(zone) << zone.error().describe();
  zone_ = std::move(*zone);
  in_ns([&] {
    net::dns::ServerConfig dc;
    dc.public_listen = {"127.0.0.1:5353"};
    auto dns = net::dns::Server::start(dc, *zone_);
    ASSERT_TRUE(dns) << dns.error().describe();
    dns_ = std::move(*dns);
    net::ingress::ServerConfig ic;
    ic.listeners.push_back({"127.0.0.1", 8000, 80, net::ingress::Protocol::http});
    ic.listeners.push_back({"127.0.0.1", 8443, 443, net::ingress::Protocol::tls});
    auto ingress = net::ingress::Server::start(ic);
    ASSERT_TRUE(ingress) << ingress.error().describe();
    ingress_ = std::move(*ingress);
  });
}

void EngineTest::open_engine(reconcile::EngineConfig) {
  reconcile::EngineParts parts = node_parts(root(), zone_.get(), ingress_.get());
  auto engine = reconcile::Engine::open(config_, std::move(parts));
  ASSERT_TRUE(engine) << engine.error().describe();
  engine_ = std::move(*engine);
  in_ns([&] {
    auto s = engine_->start();
    ASSERT_TRUE(s) << s.error().describe();
  });
}

void EngineTest::close_engine() {
  if (engine_) engine_->shutdown();
  engine_.reset();
}

void EngineTest::TearDown() {
  if (engine_) {
    in_ns([&] {
      auto sources = engine_->status(std::nullopt);
      if (sources) {
        for (const auto& s : *sources) {
          auto r = engine_->unplant(s.record.canonical);
          EXPECT_TRUE(r) << r.error().describe();
        }
      }
    });
    close_engine();
  }
  if (ingress_) ingress_->stop();
  if (dns_) dns_->stop();
  // Volumes stay mounted after an unplant (they are kept): unmount them for the test's sake.
  auto volumes = node_volumes(root());
  if (auto list = volumes->list({})) {
    for (const auto& v : *list) {
      if (v.mounted) {
        EXPECT_TRUE(volumes->unmount(v.id));
      }
    }
  }
  // Anything still running from this node is a leak: report it, then kill it.
  std::vector<int> strays;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    auto cmdline = read_file(e.path().string() + "/cmdline");
    if (cmdline && cmdline->find(root()) != std::string::npos) strays.push_back(std::stoi(pid));
  }
  EXPECT_TRUE(strays.empty()) << strays.size() << " process(es) left behind";
  for (int pid : strays) ::kill(pid, SIGKILL);
  netns_.reset();
}

std::string EngineTest::write_flake(const std::string& flake_nix, const std::string& subdir) {
  const std::string dir = root() + "/" + subdir;
  fs::create_directories(dir);
  testflake::FlakeSources sources{env_or("SEED_SOURCE_DIR", "."), vmm::testing::guest_dir()};
  auto s = testflake::write_test_flake(dir, flake_nix, sources);
  EXPECT_TRUE(s) << s.error().describe();
  // A git repository, like a Silo one: each version of the flake is a commit.
  const std::vector<std::vector<std::string>> steps = {
      {"git", "-C", dir, "init", "-q", "-b", "main"},
      {"git", "-C", dir, "add", "-A"},
      {"git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "v"}};
  for (const auto& argv : steps) {
    SpawnOptions o;
    o.argv = argv;
    auto r = run_checked(o);
    EXPECT_TRUE(r) << r.error().describe();
  }
  return "git+file://" + dir;
}

std::string EngineTest::web_flake(const std::string& seed_attrs, const std::string& extra_params) const {
  return R"({
  outputs = { self }:
    let seed = import ./seed/test-lib.nix { busybox = ./bin; guest = ./guest; };
    in {
      seeds.web = seed.mkSeed {
        name = "web";
        seed = { expose.http.enable = true; storage.data = "64Mi"; )" +
         seed_attrs + R"( };
        kernelParams = "seed.httpd=80:/run/seed/host,8080:/seed/storage/data )" + extra_params + R"(";
      };
    };
})";
}

std::string EngineTest::http_get(const std::string& url, const std::string& host_header) {
  std::vector<std::string> argv = {"curl", "-sf", "--max-time", "10", "--noproxy", "*"};
  if (!host_header.empty()) argv.insert(argv.end(), {"-H", "Host: " + host_header});
  argv.push_back(url);
  try {
    return netns_->exec(argv);
  } catch (const std::exception&) {
    return "";
  }
}

std::string EngineTest::dig(const std::string& name) {
  try {
    return netns_->exec({"dig", "+short", "-p", "5353", "@127.0.0.1", name, "A"});
  } catch (const std::exception& e) {
    return std::string("dig failed: ") + e.what();
  }
}

reconcile::InstanceView EngineTest::instance(const std::string& source, const std::string& name) {
  auto views = engine_->status(source);
  EXPECT_TRUE(views) << views.error().describe();
  if (views) {
    for (const auto& i : views->front().instances) {
      if (i.id.name == name) return i;
    }
  }
  ADD_FAILURE() << "no instance " << name << " in " << source;
  return {};
}

}  // namespace seed::e2e
