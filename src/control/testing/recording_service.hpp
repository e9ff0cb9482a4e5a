// A test double of our own reconcile::Service: records each call as one line and returns what
// the test set. Lets the control server and the real seedctl binary be tested without VMs;
// the end-to-end tests against the real engine live with the engine.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "reconcile/service.hpp"

namespace seed::control::testing {

class RecordingService final : public reconcile::Service {
 public:
  static reconcile::Invite make_invite(std::string code) {
    reconcile::Invite i;
    i.code = std::move(code);
    return i;
  }
  // --- what the test sets (before the call it affects) ---
  std::vector<reconcile::SourceView> sources;
  std::vector<reconcile::Progress> plant_progress;
  std::vector<std::string> log_lines;
  std::vector<reconcile::QuarantineEntry> quarantine;
  int quarantine_cleared = 0;
  reconcile::ShootPoolView shoot_pool_view;  // enabled false: shoots off
  reconcile::Invite invite = make_invite("seed-invite-1");
  std::map<std::string, Error> errors;  // method name → the error it returns

  // Holds plant() after its first progress report until release_plant() (streaming tests).
  void hold_plant() {
    std::lock_guard lock(mutex_);
    plant_held_ = true;
  }
  void release_plant() {
    {
      std::lock_guard lock(mutex_);
      plant_held_ = false;
    }
    cv_.notify_all();
  }
  // Appends console output that a running follow_logs() delivers.
  void feed(std::string data) {
    std::lock_guard lock(mutex_);
    feed_.push_back(std::move(data));
  }

  // --- what the test reads ---
  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  bool following() const { return following_; }
  bool follow_ended_by_cancel() const { return follow_ended_by_cancel_; }

  // --- reconcile::Service ---
  Result<reconcile::SourceView> plant(std::string_view uri, const std::string& planted_by,
                                      const reconcile::ProgressFn& progress) override {
    record("plant " + std::string(uri) + " by " + planted_by);
    if (auto e = error_for("plant")) return *e;
    for (size_t i = 0; i < plant_progress.size(); ++i) {
      progress(plant_progress[i]);
      if (i == 0) {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return !plant_held_; });
      }
    }
    reconcile::SourceView view;
    view.record.canonical = std::string(uri);
    view.record.ns = "testns";
    view.record.planted_by = planted_by;
    if (!sources.empty()) view = sources.front();
    return view;
  }
  Status unplant(std::string_view source) override {
    record("unplant " + std::string(source));
    if (auto e = error_for("unplant")) return *e;
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
    return ok();
  }
  Result<std::vector<reconcile::SourceView>> status(std::optional<std::string_view> source) override {
    record("status " + std::string(source.value_or("*")));
    if (auto e = error_for("status")) return *e;
    if (!source) return sources;
    for (const auto& s : sources) {
      if (s.record.canonical == *source) return std::vector<reconcile::SourceView>{s};
    }
    return make_error(Errc::not_found, "source " + std::string(*source) + " is not planted");
  }
  Result<std::string> authorized_keys(std::string_view uri) override {
    record("authorized_keys " + std::string(uri));
    return std::string();
  }
  Status restart(const reconcile::InstanceId& id, const reconcile::ProgressFn&) override {
    record("restart " + id.str());
    if (auto e = error_for("restart")) return *e;
    return ok();
  }
  // log_lines and fed data are console entries; fed data is handed out line by line, as the
  // engine's store does.
  static reconcile::LogEntry entry_of(std::string line) {
    reconcile::LogEntry e;
    e.message = std::move(line);
    return e;
  }
  Result<std::vector<reconcile::LogEntry>> logs(const reconcile::InstanceId& id,
                                                const reconcile::LogQuery& q) override {
    std::string call = "logs " + id.str() + " " + std::to_string(q.lines);
    if (q.unit) call += " unit=" + *q.unit;
    if (q.since_us) call += " since=" + std::to_string(*q.since_us);
    if (q.boot) call += " boot=" + std::to_string(*q.boot);
    record(call);
    if (auto e = error_for("logs")) return *e;
    std::vector<reconcile::LogEntry> out;
    for (const auto& l : log_lines) out.push_back(entry_of(l));
    if (out.size() > q.lines) out.erase(out.begin(), out.end() - static_cast<long>(q.lines));
    return out;
  }
  Status follow_logs(const reconcile::InstanceId& id, const reconcile::LogQuery&,
                     const std::function<void(const reconcile::LogEntry&)>& on_entry,
                     const std::atomic<bool>& cancelled) override {
    record("follow_logs " + id.str());
    following_ = true;
    // The real engine waits on the log store; polling a queue is the same contract.
    std::string partial;
    while (!cancelled) {
      std::deque<std::string> batch;
      {
        std::lock_guard lock(mutex_);
        batch.swap(feed_);
      }
      for (const auto& d : batch) {
        partial += d;
        for (size_t nl; (nl = partial.find('\n')) != std::string::npos; partial.erase(0, nl + 1)) {
          on_entry(entry_of(partial.substr(0, nl)));
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    following_ = false;
    follow_ended_by_cancel_ = true;
    return ok();
  }
  Result<std::vector<reconcile::InstanceUsage>> usage() override {
    record("usage");
    return usage_;
  }
  std::vector<reconcile::InstanceUsage> usage_;  // what usage() reports
  Result<std::string> tpm_recipient(const reconcile::InstanceId& id) override {
    record("tpm_recipient " + id.str());
    return std::string("age1tpm1test");
  }
  Result<reconcile::ShootPoolView> shoot_pool() override {
    record("shoot_pool");
    if (auto e = error_for("shoot_pool")) return *e;
    return shoot_pool_view;
  }
  Result<std::vector<reconcile::QuarantineEntry>> quarantine_list() override {
    record("quarantine_list");
    if (auto e = error_for("quarantine_list")) return *e;
    return quarantine;
  }
  Result<int> quarantine_clear(std::optional<std::string> toplevel) override {
    record("quarantine_clear " + toplevel.value_or("*"));
    if (auto e = error_for("quarantine_clear")) return *e;
    return quarantine_cleared;
  }
  Result<reconcile::Invite> create_invite(unsigned uses, int64_t expires_at) override {
    record("create_invite " + std::to_string(uses) + " " + std::to_string(expires_at));
    if (auto e = error_for("create_invite")) return *e;
    reconcile::Invite out = invite;
    out.uses_left = uses;
    out.expires_at = expires_at;
    return out;
  }
  Status consume_invite(const std::string& code) override {
    record("consume_invite " + code);
    return ok();
  }
  Result<reconcile::AddressOwner> instance_by_address(std::string_view address) override {
    record("instance_by_address " + std::string(address));
    return make_error(Errc::not_found, "no instance sends from " + std::string(address));
  }

 private:
  void record(std::string call) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
  }
  std::optional<Error> error_for(const std::string& method) {
    std::lock_guard lock(mutex_);
    auto it = errors.find(method);
    if (it == errors.end()) return std::nullopt;
    return it->second;
  }

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> calls_;
  std::deque<std::string> feed_;
  bool plant_held_ = false;
  std::atomic<bool> following_{false};
  std::atomic<bool> follow_ended_by_cancel_{false};
};

}  // namespace seed::control::testing
