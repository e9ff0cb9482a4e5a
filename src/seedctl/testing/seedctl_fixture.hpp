// A running ControlServer on a private socket, a RecordingService behind it, and helpers that
// run the real seedctl binary against it.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"
#include "control/control_server.hpp"
#include "control/testing/recording_service.hpp"
#include "control/testing/socket_client.hpp"

namespace seed::seedctl::testing {

using control::testing::count_entries;
using control::testing::eventually;

class SeedctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.socket_path = dir_.path() + "/run/control.sock";
    config_.ssh_host_key_path = dir_.path() + "/state/ssh/host_ed25519_key.pub";
    config_.ca_root_path = dir_.path() + "/ca.pem";
  }
  void TearDown() override { server_.reset(); }

  void start() {
    auto server = control::start_control_server(config_, service_);
    ASSERT_TRUE(server.ok()) << server.error().describe();
    server_ = std::move(*server);
  }

  static std::string seedctl_path() {
    const char* build = std::getenv("SEED_BUILD_DIR");
    return std::string(build ? build : ".") + "/src/seedctl/seedctl";
  }

  std::vector<std::string> argv(const std::vector<std::string>& args) const {
    std::vector<std::string> out{seedctl_path(), "--socket", config_.socket_path};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

  static SpawnOptions captured(std::vector<std::string> argv) {
    SpawnOptions o;
    o.argv = std::move(argv);
    o.stdout_mode = Output::capture;
    o.stderr_mode = Output::capture;
    return o;
  }

  // Runs seedctl to completion.
  RunResult seedctl(const std::vector<std::string>& args) {
    RunOptions limits;
    limits.timeout = std::chrono::seconds(20);
    auto r = run(captured(argv(args)), limits);
    if (!r.ok()) {
      ADD_FAILURE() << r.error().describe();
      return {};
    }
    return std::move(*r);
  }

  // Starts seedctl and leaves it running (logs -f, streaming plants).
  Child spawn_seedctl(const std::vector<std::string>& args) {
    auto c = spawn(captured(argv(args)));
    if (!c.ok()) ADD_FAILURE() << c.error().describe();
    return c.ok() ? std::move(*c) : Child{};
  }

  // Reads the child's stdout into `seen` until it contains `needle`.
  static bool read_until(Child& child, std::string& seen, const std::string& needle,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (seen.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{child.stdout_pipe().get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      ssize_t n = ::read(child.stdout_pipe().get(), buf, sizeof buf);
      if (n <= 0) return false;
      seen.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  seed::testing::TempDir dir_;
  control::ControlConfig config_;
  control::testing::RecordingService service_;
  std::unique_ptr<control::ControlServer> server_;
};

}  // namespace seed::seedctl::testing
