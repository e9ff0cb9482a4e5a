#include "net/dns/testing/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>

#include "common/process.hpp"

namespace seed::net::dns::testing {

namespace {
Status ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  SpawnOptions o;
  o.argv = std::move(args);
  SEED_TRY(run_checked(std::move(o)));
  return ok();
}
}  // namespace

Result<std::unique_ptr<NetnsScope>> NetnsScope::enter(const std::string& prefix) {
  if (::geteuid() != 0) {
    return make_error(Errc::permission_denied, "network namespaces need root")
        .with("hint", "run the 'net' suite as root (scripts/test does)");
  }
  std::unique_ptr<NetnsScope> s(new NetnsScope());
  s->original_ = UniqueFd(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!s->original_) return errno_error("open /proc/self/ns/net", errno);
  std::string name = prefix + "-" + std::to_string(::getpid());
  SEED_TRY(ip({"netns", "add", name}));
  s->name_ = name;  // from here on the destructor deletes it
  UniqueFd ns(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return errno_error("open /run/netns/" + name, errno);
  if (::setns(ns.get(), CLONE_NEWNET) != 0) return errno_error("setns " + name, errno);
  SEED_TRY(ip({"link", "set", "lo", "up"}));
  return s;
}

NetnsScope::~NetnsScope() {
  if (original_) ::setns(original_.get(), CLONE_NEWNET);
  if (!name_.empty()) (void)ip({"netns", "del", name_});
}

}  // namespace seed::net::dns::testing
