#include "common/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "common/log.hpp"

namespace seed {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Random rather than a counter: ids stay distinct across seedd restarts without stored state.
uint64_t new_id() {
  std::random_device random;
  return ((uint64_t{random()} << 32) | random()) & ((uint64_t{1} << 53) - 1);  // exact in JSON doubles
}

void read_file(const std::string& path, std::map<uint64_t, AuditEntry>& by_id, std::vector<uint64_t>& order) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object() || !json.contains("id") || !json["id"].is_number_unsigned()) continue;
    const uint64_t id = json["id"].get<uint64_t>();
    const std::string event = json.value("event", "");
    if (event == "begin") {
      AuditEntry entry;
      entry.id = id;
      entry.kind = json.value("kind", "");
      entry.fingerprint = json.value("key", "");
      entry.instance = json.value("instance", "");
      entry.detail = json.value("detail", "");
      entry.started_ms = json.value("at_ms", int64_t{0});
      if (by_id.emplace(id, entry).second) order.push_back(id);
    } else if (event == "end") {
      auto it = by_id.find(id);
      if (it == by_id.end()) continue;  // its begin was rotated away
      it->second.ended_ms = json.value("at_ms", int64_t{0});
      it->second.exit_code = json.value("exit", -1);
    }
  }
}

}  // namespace

AuditLog::AuditLog(std::string path, uint64_t max_bytes) : path_(std::move(path)), max_bytes_(max_bytes) {}

Status AuditLog::append(const std::string& line) {
  std::lock_guard lock(mutex_);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) + line.size() > max_bytes_ &&
      st.st_size > 0) {
    const std::string rotated = path_ + ".1";
    if (::rename(path_.c_str(), rotated.c_str()) != 0) return errno_error("rotate " + path_, errno);
  }
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("open " + path_, errno);
  // One write of a whole line with O_APPEND: a crash leaves at most a torn last line.
  const ssize_t written = ::write(fd, line.data(), line.size());
  const int err = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size())) return errno_error("append to " + path_, written < 0 ? err : EIO);
  return ok();
}

uint64_t AuditLog::begin(const std::string& kind, const std::string& fingerprint, const std::string& instance,
                         const std::string& detail) {
  const uint64_t id = new_id();
  nlohmann::json json = {{"event", "begin"}, {"id", id},         {"kind", kind},     {"key", fingerprint},
                         {"instance", instance}, {"detail", detail}, {"at_ms", now_ms()}};
  log::info("audit.session_begin",
            {{"id", id}, {"kind", kind}, {"key", fingerprint}, {"instance", instance}, {"detail", detail}});
  // Invalid UTF-8 in argv is replaced rather than thrown on: the record is for humans.
  if (auto status = append(json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"); !status)
    log::error("audit.write_failed", {{"id", id}, {"error", status.error().describe()}});
  return id;
}

void AuditLog::end(uint64_t id, int exit_code) {
  nlohmann::json json = {{"event", "end"}, {"id", id}, {"exit", exit_code}, {"at_ms", now_ms()}};
  log::info("audit.session_end", {{"id", id}, {"exit", exit_code}});
  if (auto status = append(json.dump() + "\n"); !status)
    log::error("audit.write_failed", {{"id", id}, {"error", status.error().describe()}});
}

Result<std::vector<AuditEntry>> AuditLog::list() const {
  std::lock_guard lock(mutex_);
  std::map<uint64_t, AuditEntry> by_id;
  std::vector<uint64_t> order;
  read_file(path_ + ".1", by_id, order);
  read_file(path_, by_id, order);
  std::vector<AuditEntry> entries;
  entries.reserve(order.size());
  for (uint64_t id : order) entries.push_back(by_id.at(id));
  return entries;
}

}  // namespace seed
