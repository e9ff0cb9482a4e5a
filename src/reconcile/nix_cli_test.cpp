// NixCli against real nix (Debian's nix-bin) on small flakes that need no nixpkgs: a git flake
// in a temp dir whose toplevel is built in the nix sandbox by busybox.
#include "reconcile/nix_cli.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/fd.hpp"
#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"
#include "net/dns/testing/netns.hpp"

namespace seed::reconcile {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using seed::testing::TempDir;

constexpr const char* kFlake = R"nix({
  outputs = { self }: let
    busybox = "${./bin}/busybox";
    top = name: script: derivation {
      inherit name;
      system = "x86_64-linux";
      builder = busybox;
      args = [ "sh" "-c" script ];
    };
  in {
    seeds.web = {
      meta = { name = "web"; schema = 1; size = "xs"; };
      toplevel = top "web-toplevel" "mkdir $out && echo kernel > $out/kernel";
    };
    seeds.broken = {
      meta = { name = "broken"; schema = 1; };
      toplevel = top "broken-toplevel" "echo compiling; echo 'cc: fatal error: no input files' >&2; exit 1";
    };
  };
})nix";

class NixCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(find_executable("nix")) << "nix is not installed: scripts/install-deps installs nix-bin";
    dir_ = tmp_.path() + "/flake";
    fs::create_directories(dir_ + "/bin");
    fs::copy_file("/bin/busybox", dir_ + "/bin/busybox");
    settings_.env = {"NIX_CONFIG=build-users-group =\nsubstituters =\nsandbox = true\n", "HOME=" + tmp_.path()};
  }
  void write_flake(const std::string& text) {
    ASSERT_TRUE(write_file_atomic(dir_ + "/flake.nix", text));
    // nix sees only what git tracks.
    for (auto argv : {std::vector<std::string>{"git", "init", "-q"}, {"git", "add", "-A"}}) {
      SpawnOptions o;
      o.argv = argv;
      o.cwd = dir_;
      ASSERT_TRUE(run_checked(o));
    }
  }
  std::string ref() const { return "git+file://" + dir_; }
  TempDir tmp_;
  std::string dir_;
  NixSettings settings_;
};

TEST_F(NixCliTest, EvalCollectsEveryInstancesMetaInOneCall) {
  write_flake(kFlake);
  auto metas = NixCli(settings_).eval_metas(ref());
  ASSERT_TRUE(metas) << metas.error().describe();
  EXPECT_EQ((*metas)["web"]["size"], "xs");
  EXPECT_EQ((*metas)["broken"]["name"], "broken");
  EXPECT_EQ(metas->size(), 2u);
}

// How a tenant flake made from a template finds Seed: `inputs.seed.url = "flake:seed"`,
// resolved through the registry file seedd passes, with no network (nix would otherwise
// download its global registry first, and fail here).
TEST_F(NixCliTest, IndirectInputResolvesThroughTheNodesRegistry) {
  std::string lib = tmp_.path() + "/seed-lib";
  fs::create_directories(lib);
  ASSERT_TRUE(write_file_atomic(lib + "/flake.nix", R"nix({
    outputs = { self }: { lib.meta = name: { inherit name; schema = 1; size = "s"; }; };
  })nix"));
  settings_.flake_registry = tmp_.path() + "/registry.json";
  ASSERT_TRUE(write_file_atomic(settings_.flake_registry,
                                R"({"version": 2, "flakes": [{"from": {"type": "indirect", "id": "seed"},
                                    "to": {"type": "path", "path": ")" + lib + R"("}}]})"));
  write_flake(R"nix({
    inputs.seed.url = "flake:seed";
    outputs = { self, seed }: { seeds.web.meta = seed.lib.meta "web"; };
  })nix");
  auto metas = NixCli(settings_).eval_metas(ref());
  ASSERT_TRUE(metas) << metas.error().describe();
  EXPECT_EQ((*metas)["web"]["size"], "s");
  EXPECT_FALSE(fs::exists(dir_ + "/flake.lock"));  // the tenant's tree is never written
}

// How `.authorized_keys` of a non-Silo source is read (Engine::authorized_keys): the flake's
// tree in the store. `nix flake` takes the flake flags only after `metadata`.
TEST_F(NixCliTest, SourcePathIsTheFlakesTreeWithItsAuthorizedKeys) {
  ASSERT_TRUE(write_file_atomic(dir_ + "/.authorized_keys", "ssh-ed25519 AAAAC3Nz alice\n"));
  write_flake(kFlake);
  auto path = NixCli(settings_).source_path(ref());
  ASSERT_TRUE(path) << path.error().describe();
  EXPECT_THAT(*path, StartsWith("/nix/store/"));
  auto keys = read_file(*path + "/.authorized_keys");
  ASSERT_TRUE(keys) << keys.error().describe();
  EXPECT_EQ(*keys, "ssh-ed25519 AAAAC3Nz alice\n");
  EXPECT_FALSE(fs::exists(dir_ + "/flake.lock"));
}

// The GitHub path of the same read (`plant github:you/app`), with nix's real github fetcher
// and no network: nix 2.8 consults no flake registry for a direct `github:` reference, so
// api.github.com is pointed (through /etc/hosts in a private mount namespace, inside a private
// network namespace) at a local HTTPS stand-in serving the flake's git repository
// (testdata/github_api_standin.py says what it cannot catch).
TEST_F(NixCliTest, SourcePathOfAGithubSourceThroughALocalStandIn) {
  for (const char* tool : {"python3", "openssl", "unshare", "ip"}) {
    ASSERT_TRUE(find_executable(tool)) << tool << " is not installed (scripts/install-deps)";
  }
  auto netns = net::dns::testing::NetnsScope::enter("seed-gh");
  ASSERT_TRUE(netns) << netns.error().describe();
  ASSERT_TRUE(write_file_atomic(dir_ + "/.authorized_keys", "ssh-ed25519 AAAAC3Nz bob\n"));
  write_flake(kFlake);
  SpawnOptions commit;  // the stand-in serves commits, as GitHub does
  commit.argv = {"git", "-C", dir_, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "v"};
  ASSERT_TRUE(run_checked(commit));

  const std::string cert = tmp_.path() + "/cert.pem", key = tmp_.path() + "/key.pem";
  SpawnOptions req;
  req.argv = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
              "-subj", "/CN=api.github.com", "-addext", "subjectAltName=DNS:api.github.com"};
  ASSERT_TRUE(run_checked(req));
  const char* src = std::getenv("SEED_SOURCE_DIR");
  SpawnOptions serve;
  serve.argv = {"python3", std::string(src ? src : ".") + "/src/reconcile/testdata/github_api_standin.py", dir_, "443",
                cert, key};
  serve.stdout_mode = Output::capture;
  auto server = spawn(serve);
  ASSERT_TRUE(server) << server.error().describe();
  struct Stop {
    Child& c;
    ~Stop() { c.terminate(); }
  } stop{*server};
  char ready[6] = {};
  size_t got = 0;
  while (got < 5) {  // "ready": it listens
    ssize_t n = ::read(server->stdout_pipe().get(), ready + got, 5 - got);
    ASSERT_GT(n, 0) << "the stand-in exited before it was ready";
    got += size_t(n);
  }
  ASSERT_EQ(std::string(ready), "ready");

  ASSERT_TRUE(write_file_atomic(tmp_.path() + "/hosts", "127.0.0.1 api.github.com\n"));
  const std::string wrapper = tmp_.path() + "/nix-with-hosts";
  ASSERT_TRUE(write_file_atomic(wrapper, "#!/bin/sh\nexec unshare -m sh -c 'mount --bind \"$0\" /etc/hosts && exec nix \"$@\"' " +
                                             tmp_.path() + "/hosts \"$@\"\n"));
  ASSERT_EQ(::chmod(wrapper.c_str(), 0755), 0);
  settings_.binary = wrapper;
  // http2 off: the stand-in speaks HTTP/1.1 only (nix's curl otherwise waits on it).
  settings_.env = {"NIX_CONFIG=build-users-group =\nsubstituters =\nsandbox = true\nhttp2 = false\n",
                   "HOME=" + tmp_.path(), "NIX_SSL_CERT_FILE=" + cert};
  auto path = NixCli(settings_).source_path("github:you/app");
  ASSERT_TRUE(path) << path.error().describe();
  auto keys = read_file(*path + "/.authorized_keys");
  ASSERT_TRUE(keys) << keys.error().describe();
  EXPECT_EQ(*keys, "ssh-ed25519 AAAAC3Nz bob\n");
}

TEST_F(NixCliTest, SourcePathOfAMissingFlakeIsStageFetch) {
  auto path = NixCli(settings_).source_path("git+file://" + tmp_.path() + "/nothing-here");
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().get("stage"), "fetch");
  EXPECT_THAT(path.error().message, HasSubstr("nix fetch of git+file://"));
  EXPECT_THAT(path.error().message, ::testing::Not(HasSubstr("unrecognised flag")));
}

TEST_F(NixCliTest, BuildGivesTheToplevelStorePath) {
  write_flake(kFlake);
  auto top = NixCli(settings_).build_toplevel(ref(), "web");
  ASSERT_TRUE(top) << top.error().describe();
  EXPECT_THAT(*top, StartsWith("/nix/store/"));
  EXPECT_THAT(*top, ::testing::EndsWith("-web-toplevel"));
  EXPECT_EQ(*read_file(*top + "/kernel"), "kernel\n");
}

TEST_F(NixCliTest, BuildFailureIsStageBuildWithTheBuildersOwnMessage) {
  write_flake(kFlake);
  auto top = NixCli(settings_).build_toplevel(ref(), "broken");
  ASSERT_FALSE(top);
  const Error& e = top.error();
  EXPECT_EQ(e.code, Errc::process_failed);
  EXPECT_EQ(e.get("stage"), "build");
  EXPECT_THAT(e.message, HasSubstr("nix build of " + ref() + " failed: error: builder for"));
  EXPECT_THAT(std::string(*e.get("stderr")), HasSubstr("cc: fatal error: no input files"));
}

TEST_F(NixCliTest, EvalErrorIsStageEvalWithNixsMessage) {
  write_flake(R"nix({ outputs = { self }: { seeds.web = { meta = throw "seed.size: \"huge\" is not one of xs s m l xl"; }; }; })nix");
  auto metas = NixCli(settings_).eval_metas(ref());
  ASSERT_FALSE(metas);
  EXPECT_EQ(metas.error().get("stage"), "eval");
  EXPECT_THAT(metas.error().message, HasSubstr("seed.size: \"huge\" is not one of xs s m l xl"));
}

TEST_F(NixCliTest, FlakeWithoutSeedsSaysSo) {
  write_flake(R"nix({ outputs = { self }: { packages = {}; }; })nix");
  auto metas = NixCli(settings_).eval_metas(ref());
  ASSERT_FALSE(metas);
  EXPECT_EQ(metas.error().get("stage"), "eval");
  EXPECT_THAT(metas.error().message, HasSubstr("seeds"));
}

TEST_F(NixCliTest, UnknownUriIsStageEval) {
  auto metas = NixCli(settings_).eval_metas("git+file://" + tmp_.path() + "/does-not-exist");
  ASSERT_FALSE(metas);
  EXPECT_EQ(metas.error().get("stage"), "eval");
  EXPECT_THAT(metas.error().message, HasSubstr("does-not-exist"));
}

TEST_F(NixCliTest, RunawayEvaluationHitsTheMemoryCap) {
  write_flake(R"nix({ outputs = { self }: { seeds.web = { meta = builtins.length (builtins.genList (x: [x x x]) 100000000); }; }; })nix");
  settings_.eval_memory_bytes = 512ull << 20;
  auto started = std::chrono::steady_clock::now();
  auto metas = NixCli(settings_).eval_metas(ref());
  ASSERT_FALSE(metas);
  EXPECT_EQ(metas.error().get("stage"), "eval");
  EXPECT_THAT(metas.error().message, HasSubstr("out of memory"));
  // Uncapped, this evaluation runs for tens of seconds and then succeeds.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s) << "the cap did not stop it";
}

TEST_F(NixCliTest, RunawayEvaluationHitsTheDeadline) {
  // 2^60 additions, recursion only 60 deep and no memory to speak of: only the deadline ends it.
  write_flake(R"nix({ outputs = { self }: { seeds.web = { meta = let f = n: if n == 0 then 1 else f (n - 1) + f (n - 1); in f 60; }; }; })nix");
  settings_.eval_timeout = 2s;
  auto started = std::chrono::steady_clock::now();
  auto metas = NixCli(settings_).eval_metas(ref());
  ASSERT_FALSE(metas);
  EXPECT_EQ(metas.error().code, Errc::timeout) << metas.error().describe();
  EXPECT_EQ(metas.error().get("stage"), "eval");
  EXPECT_THAT(metas.error().message, HasSubstr("did not finish within 2 s"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
}

TEST_F(NixCliTest, CancelFdStopsARunningEvaluation) {
  write_flake(R"nix({ outputs = { self }: { seeds.web = { meta = let f = n: if n == 0 then 1 else f (n - 1) + f (n - 1); in f 60; }; }; })nix");
  UniqueFd cancel(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_TRUE(cancel);
  settings_.cancel_fd = cancel.get();
  std::thread shutdown([&] {
    std::this_thread::sleep_for(500ms);
    uint64_t one = 1;
    (void)!::write(cancel.get(), &one, sizeof one);
  });
  auto metas = NixCli(settings_).eval_metas(ref());  // would run until the 300 s deadline
  shutdown.join();
  ASSERT_FALSE(metas);
  EXPECT_EQ(metas.error().get("cancelled"), "yes") << metas.error().describe();
  EXPECT_EQ(metas.error().get("stage"), "eval");
  EXPECT_THAT(metas.error().message, HasSubstr("shutting down"));
}

TEST_F(NixCliTest, InstanceNameIsCheckedBeforeItReachesTheAttributePath) {
  write_flake(kFlake);
  auto top = NixCli(settings_).build_toplevel(ref(), "web.toplevel.drvPath");
  ASSERT_FALSE(top);
  EXPECT_EQ(top.error().code, Errc::invalid_argument);
}

TEST(NixErrorSummary, FirstErrorLineWithoutColour) {
  EXPECT_EQ(nix_error_summary("warning: Git tree is dirty\n\x1b[31;1merror:\x1b[0m attribute 'seeds' missing\n  at x\n"),
            "error: attribute 'seeds' missing");
  EXPECT_EQ(nix_error_summary("error:\n       … while evaluating\n"), "error: … while evaluating");
  EXPECT_EQ(nix_error_summary("something\nlast words\n"), "last words");
}

}  // namespace
}  // namespace seed::reconcile
