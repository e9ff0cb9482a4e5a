// Benchmark: `ssh <node> status --json` against seedd's SSH server vs `ssh` to OpenSSH's sshd
// running `true`, both on loopback in this run, same client, same key type. Each sample is a
// whole client run (connect, key exchange, auth, command, close); median of N (default 20),
// interleaved so all see the same machine load. Prints the ratios; never asserts.
// sshd runs `true` through the user's login shell, so the user's shell startup files count
// (bash sources ~/.bashrc for ssh commands). A second sshd port runs no shell at all
// (ForceCommand internal-sftp, the client's stdin closed, so it ends at once): sshd's own cost.
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/process.hpp"
#include "common/testing/temp_dir.hpp"
#include "sshcli/server.hpp"
#include "sshcli/testing/recording_service.hpp"

namespace {

using namespace seed;
using Clock = std::chrono::steady_clock;

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool keygen(const std::string& path) {
  SpawnOptions o;
  o.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path};
  return run_checked(o).ok();
}

std::string client_config(const std::string& dir, const std::string& host, uint16_t port, const std::string& user) {
  std::string path = dir + "/" + host + ".cfg";
  std::ofstream(path) << "Host " << host << "\n  HostName 127.0.0.1\n  Port " << port << "\n  User " << user
                      << "\n  IdentityFile " << dir << "/client\n  IdentitiesOnly yes\n  IdentityAgent none\n"
                      << "  BatchMode yes\n  UserKnownHostsFile " << dir << "/known_hosts\n"
                      << "  StrictHostKeyChecking yes\n  LogLevel ERROR\n  ControlMaster no\n  ControlPath none\n";
  return path;
}

// One client run in milliseconds, or a negative number when it failed.
// internal-sftp ends with status 1 when its input ends at once: that is the expected end there.
double sample(const std::string& cfg, const std::string& host, const std::string& command, std::string* out,
              int expected = 0) {
  SpawnOptions o;
  o.argv = {"ssh", "-n", "-F", cfg, host, command};  // -n: stdin closed (ends internal-sftp)
  auto start = Clock::now();
  auto r = run(o);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!r || !r->status.known || r->status.signal != 0 || r->status.code != expected) {
    std::fprintf(stderr, "ssh_status_bench: %s %s failed (%s): %s\n", host.c_str(), command.c_str(),
                 r ? r->status.describe().c_str() : "", r ? r->err.c_str() : r.error().describe().c_str());
    return -1;
  }
  if (out) *out = r->out;
  return ms;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  if (!find_executable("ssh") || !std::filesystem::exists("/usr/sbin/sshd")) {
    std::fprintf(stderr, "ssh_status_bench: needs ssh and /usr/sbin/sshd (openssh-server)\n");
    return 1;
  }
  testing::TempDir dir;
  const std::string d = dir.path();
  if (!keygen(d + "/client") || !keygen(d + "/sshd_host")) return 1;
  std::string pub = *read_file(d + "/client.pub");
  std::string user = ::getpwuid(::getuid())->pw_name;

  // seedd's server with three planted sources, all listing the client's key.
  sshcli::testing::RecordingService service;
  for (const char* name : {"app", "blog", "shop"}) {
    std::string uri = std::string("github:bench/") + name;
    service.add_source(sshcli::testing::make_source(uri, std::string("s-") + name + "000000000", {"web", "db"}));
    service.set_authorized_keys(uri, pub);
  }
  sshcli::ServerConfig config;
  config.listen_address = "127.0.0.1";
  config.port = 0;
  config.host_key_dir = d + "/seed-hostkey";
  config.silo_root = d + "/silo";
  config.rate_burst = 1e6;
  config.rate_per_second = 1e6;
  sshcli::Server server;
  if (auto st = server.start(config, service); !st) {
    std::fprintf(stderr, "ssh_status_bench: %s\n", st.error().describe().c_str());
    return 1;
  }

  // OpenSSH's sshd on its own port, key and authorized_keys; nothing of the host's sshd setup.
  uint16_t sshd_port = free_port();
  uint16_t bare_port = free_port();
  std::ofstream(d + "/authorized_keys") << pub;
  std::ofstream(d + "/sshd_config") << "Port " << sshd_port << "\nListenAddress 127.0.0.1\nHostKey " << d
                                    << "/sshd_host\nPidFile " << d << "/sshd.pid\nAuthorizedKeysFile " << d
                                    << "/authorized_keys\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                                    << "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
                                    << "PrintMotd no\nPrintLastLog no\nUseDNS no\nPort " << bare_port
                                    << "\nMatch LocalPort " << bare_port << "\n  ForceCommand internal-sftp\n";
  std::filesystem::create_directories("/run/sshd");  // sshd's privilege separation directory
  SpawnOptions sshd_opts;
  sshd_opts.argv = {"/usr/sbin/sshd", "-D", "-e", "-f", d + "/sshd_config"};
  sshd_opts.stderr_mode = Output::file;
  sshd_opts.stderr_file = d + "/sshd.log";
  sshd_opts.kill_with_parent = true;
  auto sshd = spawn(sshd_opts);
  if (!sshd) {
    std::fprintf(stderr, "ssh_status_bench: %s\n", sshd.error().describe().c_str());
    return 1;
  }

  std::ofstream(d + "/known_hosts") << "[127.0.0.1]:" << server.port() << " " << server.host_key().public_line << "\n"
                                    << "[127.0.0.1]:" << sshd_port << " " << *read_file(d + "/sshd_host.pub")
                                    << "[127.0.0.1]:" << bare_port << " " << *read_file(d + "/sshd_host.pub");
  std::string seed_cfg = client_config(d, "seed", server.port(), "tenant");
  std::string sshd_cfg = client_config(d, "sshd", sshd_port, user);
  std::string bare_cfg = client_config(d, "bare", bare_port, user);

  // sshd is ready when a client gets through; both get one warm-up run.
  bool ready = false;
  for (int i = 0; i < 50 && !ready; ++i) {
    ready = sample(sshd_cfg, "sshd", "true", nullptr) >= 0;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string out;
  if (!ready || sample(seed_cfg, "seed", "status --json", &out) < 0) {
    std::fprintf(stderr, "ssh_status_bench: a server did not answer; sshd log:\n%s\n", read_file(d + "/sshd.log")->c_str());
    sshd->terminate();
    return 1;
  }
  std::vector<double> seed_ms, sshd_ms, bare_ms;
  for (int i = 0; i < runs; ++i) {
    double a = sample(seed_cfg, "seed", "status --json", nullptr);
    double b = sample(sshd_cfg, "sshd", "true", nullptr);
    double c = sample(bare_cfg, "bare", "true", nullptr, 1);
    if (a >= 0) seed_ms.push_back(a);
    if (b >= 0) sshd_ms.push_back(b);
    if (c >= 0) bare_ms.push_back(c);
  }
  sshd->terminate();
  server.stop();
  double ms = median(seed_ms), peer = median(sshd_ms), bare = median(bare_ms);
  std::printf("ssh status --json (median of %d): seedd %.1f ms; sshd running true %.1f ms -> ratio %.2fx (goal <= 1.2x); "
              "sshd without a shell %.1f ms -> ratio %.2fx\n",
              runs, ms, peer, peer > 0 ? ms / peer : 0.0, bare, bare > 0 ? ms / bare : 0.0);
  size_t n = static_cast<size_t>(runs);
  return seed_ms.size() == n && sshd_ms.size() == n && bare_ms.size() == n ? 0 : 1;
}
