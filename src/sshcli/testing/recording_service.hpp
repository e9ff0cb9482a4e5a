// A test double of reconcile::Service for the SSH layer's tests: it returns the views a test
// sets and records every call. Errors follow the real engine's contract (service.hpp):
// unknown invite → not_found, used or expired → permission_denied, trigger of an unplanted
// source → not_found.
#pragma once

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "reconcile/service.hpp"

namespace seed::sshcli::testing {

class RecordingService : public reconcile::Service {
 public:
  // --- what the test sets up ---
  void add_source(reconcile::SourceView view) {
    std::lock_guard l(mu_);
    sources_.push_back(std::move(view));
  }
  void set_authorized_keys(const std::string& uri, std::string text) {
    std::lock_guard l(mu_);
    keys_[uri] = std::move(text);
  }
  void add_invite(const std::string& code, unsigned uses, int64_t expires_at) {
    std::lock_guard l(mu_);
    invites_[code] = reconcile::Invite{code, uses, expires_at};
  }
  void set_logs(const std::string& instance, std::vector<std::string> lines) {
    std::lock_guard l(mu_);
    logs_[instance] = std::move(lines);
  }
  // Console output that appears later: follow_logs hands it out as it is appended.
  void append_log(const std::string& instance, const std::string& data) {
    std::lock_guard l(mu_);
    pending_[instance] += data;
    cv_.notify_all();
  }
  void set_recipient(const std::string& instance, std::string r) {
    std::lock_guard l(mu_);
    recipients_[instance] = std::move(r);
  }
  // The plant result for a URI (progress steps are sent first).
  void set_plant_result(const std::string& uri, reconcile::SourceView view) {
    std::lock_guard l(mu_);
    plant_results_[uri] = std::move(view);
  }

  // --- what the test inspects ---
  std::vector<std::string> calls() const {
    std::lock_guard l(mu_);
    return calls_;
  }
  size_t count(const std::string& prefix) const {
    std::lock_guard l(mu_);
    size_t n = 0;
    for (const auto& c : calls_) n += c.rfind(prefix, 0) == 0;
    return n;
  }
  int followers() const {
    std::lock_guard l(mu_);
    return followers_;
  }

  // --- the interface ---
  Result<reconcile::SourceView> plant(std::string_view uri, const std::string& planted_by,
                                      const reconcile::ProgressFn& progress) override {
    record("plant " + std::string(uri) + " by " + planted_by);
    for (const char* stage : {"fetch", "eval", "build", "boot", "healthy"}) {
      progress({stage, std::string(stage) + " " + std::string(uri)});
    }
    std::lock_guard l(mu_);
    auto it = plant_results_.find(std::string(uri));
    if (it == plant_results_.end()) return make_error(Errc::process_failed, "eval failed").with("stage", "eval");
    sources_.push_back(it->second);
    return it->second;
  }
  Status unplant(std::string_view source) override {
    record("unplant " + std::string(source));
    return ok();
  }
  Result<reconcile::Webhook> webhook(std::string_view source, bool rotate) override {
    record(std::string(rotate ? "webhook --rotate " : "webhook ") + std::string(source));
    return reconcile::Webhook{std::string(source), rotate ? "hook-rotated" : "hook-1", rotate ? "secret-2" : "secret-1"};
  }
  Result<std::optional<std::string>> webhook_secret(const std::string& hook) override {
    record("webhook_secret " + hook);
    if (hook == "hook-1") return std::optional<std::string>("secret-1");
    return std::optional<std::string>();
  }
  Status trigger_webhook(const std::string& hook, std::string_view because) override {
    record("trigger_webhook " + hook + " " + std::string(because));
    return ok();
  }
  Status trigger(std::string_view source, std::string_view because) override {
    record("trigger " + std::string(source) + (because == "push" ? "" : " " + std::string(because)));
    std::lock_guard l(mu_);
    for (const auto& s : sources_) {
      if (s.record.canonical == source) return ok();
    }
    return make_error(Errc::not_found, "source not planted");
  }
  Result<std::vector<reconcile::SourceView>> status(std::optional<std::string_view> source) override {
    record("status " + std::string(source.value_or("*")));
    std::lock_guard l(mu_);
    std::vector<reconcile::SourceView> out;
    for (const auto& s : sources_) {
      if (!source || s.record.canonical == *source) out.push_back(s);
    }
    return out;
  }
  Result<std::string> authorized_keys(std::string_view uri) override {
    record("authorized_keys " + std::string(uri));
    std::lock_guard l(mu_);
    auto it = keys_.find(std::string(uri));
    return it == keys_.end() ? std::string() : it->second;
  }
  // Reports the stages the engine reports, recording each as a call too, so a test sees what
  // the caller printed before the restart began.
  Status restart(const reconcile::InstanceId& id, const reconcile::ProgressFn& progress) override {
    record("restart " + id.str());
    for (const char* stage : {"stop", "boot", "healthy"}) {
      if (progress) progress({stage, std::string(stage) + " " + id.name});
    }
    return ok();
  }
  // Lines set with set_logs (and appended ones) are console entries.
  static reconcile::LogEntry entry_of(const std::string& line) {
    reconcile::LogEntry e;
    e.message = line;
    return e;
  }
  Result<std::vector<reconcile::LogEntry>> logs(const reconcile::InstanceId& id,
                                                const reconcile::LogQuery& q) override {
    std::string call = "logs " + id.str() + " " + std::to_string(q.lines);
    if (q.unit) call += " unit=" + *q.unit;
    if (q.since_us) call += " since";
    if (q.boot) call += " boot=" + std::to_string(*q.boot);
    record(call);
    std::lock_guard l(mu_);
    std::vector<reconcile::LogEntry> all;
    for (const auto& line : logs_[id.str()]) all.push_back(entry_of(line));
    if (all.size() > q.lines) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(q.lines));
    return all;
  }
  // Appended data is handed out line by line, as the engine's store does.
  Status follow_logs(const reconcile::InstanceId& id, const reconcile::LogQuery&,
                     const std::function<void(const reconcile::LogEntry&)>& on_entry,
                     const std::atomic<bool>& cancelled) override {
    record("follow " + id.str());
    std::unique_lock l(mu_);
    ++followers_;
    std::string partial;
    while (!cancelled) {
      std::string data;
      std::swap(data, pending_[id.str()]);
      if (!data.empty()) {
        partial += data;
        std::vector<reconcile::LogEntry> out;
        for (size_t nl; (nl = partial.find('\n')) != std::string::npos; partial.erase(0, nl + 1)) {
          out.push_back(entry_of(partial.substr(0, nl)));
        }
        l.unlock();
        for (const auto& e : out) on_entry(e);
        l.lock();
        continue;
      }
      cv_.wait_for(l, std::chrono::milliseconds(20));
    }
    --followers_;
    return ok();
  }
  Result<std::vector<reconcile::InstanceUsage>> usage() override {
    record("usage");
    std::lock_guard l(mu_);
    return usage_;
  }
  std::vector<reconcile::InstanceUsage> usage_;  // what usage() reports
  Result<std::string> tpm_recipient(const reconcile::InstanceId& id) override {
    record("keys " + id.str());
    std::lock_guard l(mu_);
    auto it = recipients_.find(id.str());
    if (it == recipients_.end()) {
      // As tpm::read_age_recipient reports it: with the node's path in the context.
      return make_error(Errc::not_found, "instance " + id.str() + " has not published its age recipient yet")
          .with("instance", id.str())
          .with("path", "/var/lib/seed/instances/" + id.str() + "/tpm-share/age-recipient");
    }
    return it->second;
  }
  Result<std::vector<reconcile::QuarantineEntry>> quarantine_list() override { return std::vector<reconcile::QuarantineEntry>{}; }
  Result<int> quarantine_clear(std::optional<std::string>) override { return 0; }
  Result<reconcile::Invite> create_invite(unsigned uses, int64_t expires_at) override {
    std::lock_guard l(mu_);
    reconcile::Invite i{"inv-" + std::to_string(invites_.size()), uses, expires_at};
    invites_[i.code] = i;
    return i;
  }
  Status consume_invite(const std::string& code) override {
    record("consume_invite " + code);
    std::lock_guard l(mu_);
    auto it = invites_.find(code);
    if (it == invites_.end()) return make_error(Errc::not_found, "unknown invite code").with("hint", "ask the node owner");
    if (it->second.uses_left == 0) return make_error(Errc::permission_denied, "invite code already used");
    if (it->second.expires_at != 0 && it->second.expires_at < std::time(nullptr)) {
      return make_error(Errc::permission_denied, "invite code expired");
    }
    --it->second.uses_left;
    return ok();
  }
  Result<reconcile::AddressOwner> instance_by_address(std::string_view address) override {
    record("instance_by_address " + std::string(address));
    return make_error(Errc::not_found, "no instance sends from " + std::string(address));
  }

 private:
  void record(std::string call) {
    std::lock_guard l(mu_);
    calls_.push_back(std::move(call));
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<reconcile::SourceView> sources_;
  std::map<std::string, std::string> keys_;
  std::map<std::string, reconcile::Invite> invites_;
  std::map<std::string, std::vector<std::string>> logs_;
  std::map<std::string, std::string> pending_;
  std::map<std::string, std::string> recipients_;
  std::map<std::string, reconcile::SourceView> plant_results_;
  std::vector<std::string> calls_;
  int followers_ = 0;
};

// A source with instances for tests: "silo:app" with instances {"web"} etc.
inline reconcile::SourceView make_source(const std::string& canonical, const std::string& ns,
                                         const std::vector<std::string>& instances) {
  reconcile::SourceView v;
  v.record.canonical = canonical;
  v.record.ns = ns;
  v.record.nix_ref = canonical;
  for (const auto& name : instances) {
    reconcile::InstanceView i;
    i.id = {ns, name};
    i.source = canonical;
    i.state = reconcile::InstanceState::running;
    i.generation = "g1";
    i.dns_names = {name + "." + ns + ".seed.test"};
    i.ipv4 = "10.70.0.2";
    v.instances.push_back(std::move(i));
  }
  return v;
}

}  // namespace seed::sshcli::testing
