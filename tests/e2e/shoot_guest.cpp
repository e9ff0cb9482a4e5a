#include "shoot_guest.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "common/fd.hpp"
#include "node_parts.hpp"
#include "vmm/testing/vm_fixture.hpp"

namespace seed::e2e {

namespace fs = std::filesystem;
using vmm::testing::guest_sh;

std::string shoot_request(const std::string& body) {
  return "POST /shoot HTTP/1.0\\r\\nContent-Type: application/json\\r\\nContent-Length: " +
         std::to_string(body.size()) + "\\r\\n\\r\\n" + body;
}

std::string guest_shoot(const std::string& agent, const std::string& body, int wait_s) {
  return guest_sh(agent, "printf '" + shoot_request(body) + "' | nc -w " + std::to_string(wait_s) + " " +
                             kBridgeAddress + " " + std::to_string(kGuestApiPort) + " 2>&1")
      .out;
}

void guest_shoot_in_background(const std::string& agent, const std::string& body, const std::string& tag) {
  guest_sh(agent, "((printf '" + shoot_request(body) + "'; sleep 600) | nc " + kBridgeAddress + " " +
                      std::to_string(kGuestApiPort) + " >/tmp/" + tag + ".out 2>&1 & echo $! >/tmp/" + tag +
                      ".pid) </dev/null >/dev/null 2>&1");
}

bool wait_streaming(const std::string& agent, const std::string& tag) {
  for (int i = 0; i < 240; ++i) {
    const auto out = guest_sh(agent, "cat /tmp/" + tag + ".out").out;
    if (out.find(" 200 ") != std::string::npos) return true;
    if (out.find(" 429 ") != std::string::npos) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

std::map<pid_t, std::string> processes_naming(const std::string& text) {
  std::map<pid_t, std::string> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto cmdline = read_file(e.path().string() + "/cmdline");
    if (!cmdline) continue;
    std::replace(cmdline->begin(), cmdline->end(), '\0', ' ');
    if (cmdline->find(text) != std::string::npos) out[std::stoi(name)] = *cmdline;
  }
  return out;
}

std::string clones_beyond_ready(const std::string& root, unsigned ready, bool busy, const std::string& counts) {
  std::set<std::string> dirs;
  for (const auto& e : fs::directory_iterator(root + "/run/vm")) {
    if (e.path().filename().string().rfind("shoot-", 0) == 0) dirs.insert(e.path().string() + "/");
  }
  std::string left;
  if (busy || dirs.size() != ready) left = std::to_string(dirs.size()) + " clone directories for " + counts;
  auto of_a_ready_clone = [&](const std::string& text) {
    for (const auto& d : dirs) {
      if (text.find(d) != std::string::npos) return true;
    }
    return false;
  };
  for (const auto& [pid, cmdline] : processes_naming(root + "/run/vm/shoot-")) {
    if (!of_a_ready_clone(cmdline)) left += "; process " + std::to_string(pid) + ": " + cmdline;
  }
  for (const auto& e : fs::recursive_directory_iterator(root + "/run")) {
    const std::string p = e.path().string();
    if (e.is_socket() && p.find("/shoot-") != std::string::npos && !of_a_ready_clone(p)) left += "; socket " + p;
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root + "/state/console", ec)) {
    const std::string name = e.path().filename().string();
    // The template's own log (shoot-tpl-<tier>, from its one boot) holds no tenant's output.
    const bool a_clone = name.rfind("shoot-", 0) == 0 && name.rfind("shoot-tpl-", 0) != 0;
    if (a_clone && !of_a_ready_clone(root + "/run/vm/" + name + "/")) {
      left += "; console " + e.path().string();
    }
  }
  return left;
}

}  // namespace seed::e2e
