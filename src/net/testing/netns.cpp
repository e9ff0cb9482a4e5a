#include "net/testing/netns.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <random>
#include <filesystem>

#include "common/process.hpp"

namespace seed::net::testing {
namespace {

constexpr std::string_view prefix = "seedt-net-";

std::string run_or_throw(std::vector<std::string> argv) {
  SpawnOptions o;
  o.argv = argv;
  o.stdout_mode = Output::capture;
  o.kill_with_parent = true;
  RunOptions ro;
  ro.timeout = std::chrono::seconds(30);
  auto r = run_checked(o, ro);
  if (!r) throw std::runtime_error(r.error().describe());
  return r->out;
}

}  // namespace

TestNetns::TestNetns(const std::string& tag) {
  // pid (for sweep_stale) + random (unique within the process) + tag (readable in `ip netns`).
  std::random_device random;
  name_ = std::string(prefix) + std::to_string(::getpid()) + "-" + std::to_string(random() % 100000) +
          "-" + tag;
  run_or_throw({"ip", "netns", "add", name_});
  fd_ = UniqueFd(::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_) {
    run_or_throw({"ip", "netns", "del", name_});
    throw std::runtime_error("cannot open /run/netns/" + name_);
  }
  ip({"link", "set", "lo", "up"});
}

TestNetns::~TestNetns() {
  fd_.reset();
  try {
    run_or_throw({"ip", "netns", "del", name_});
  } catch (...) {  // best effort: a destructor must not throw
  }
}

std::string TestNetns::ip(std::vector<std::string> args) const {
  args.insert(args.begin(), {"ip", "-n", name_});
  return run_or_throw(args);
}

std::string TestNetns::exec(std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"ip", "netns", "exec", name_});
  return run_or_throw(argv);
}

void TestNetns::sweep_stale() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
    std::string n = e.path().filename();
    if (n.rfind(prefix, 0) != 0) continue;
    pid_t pid = std::atoi(n.c_str() + prefix.size());
    if (pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM)) continue;  // its owner still runs
    try {
      run_or_throw({"ip", "netns", "del", n});
    } catch (...) {
    }
  }
}

}  // namespace seed::net::testing
