#include "sshcli/console_audit.hpp"

#include <random>

#include "common/log.hpp"

namespace seed::sshcli {

uint64_t record_console_session(const std::string& fingerprint, const std::string& instance, const std::string& detail) {
  // Random rather than a counter: no global state, and ids stay distinct across seedd restarts.
  std::random_device random;
  uint64_t id = (uint64_t{random()} << 32) | random();
  log::info("sshcli.console_begin", {{"id", id}, {"kind", "console"}, {"key", fingerprint}, {"instance", instance},
                                     {"detail", detail}});
  return id;
}

void record_console_session_end(uint64_t id, int exit_code) {
  log::info("sshcli.console_end", {{"id", id}, {"kind", "console"}, {"exit", exit_code}});
}

}  // namespace seed::sshcli
