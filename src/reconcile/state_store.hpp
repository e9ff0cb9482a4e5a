// The node's durable state (SQLite, WAL): planted sources, per-source and per-instance
// failures, the action journal, the quarantine list and who holds which public port. Everything here must survive a
// kill -9 of seedd at any instant; everything else (what runs) is observed afresh.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "reconcile/flake_source.hpp"
#include "reconcile/plan_types.hpp"
#include "reconcile/sqlite.hpp"

namespace seed::reconcile {

struct SourceRecord {
  std::string canonical;
  std::string ns;
  std::string nix_ref;
  std::string planted_by;  // the planting key's fingerprint, or "seedctl"
  int64_t planted_at = 0;  // unix seconds
  int64_t fetched_at = 0;  // unix seconds of the last deploy's fetch (0 never)
  std::string fetched_because;  // what started it: plant, push, webhook, poll, seedctl
};

// A source's webhook: `hook` is the opaque id in its URL (/webhook/<hook>), `secret` what the
// forge signs deliveries with.
struct Webhook {
  std::string canonical;
  std::string hook;
  std::string secret;
};

// A failure kept for `status`: which stage, nix's or the VMM's own message, when.
struct Failure {
  std::string stage;  // eval, build, boot, runtime, storage, quarantine
  std::string message;
  int64_t at = 0;
};

// One deploy of a source as the node owner's views list it (newest first, a few per source).
struct DeployRecord {
  std::string because;      // what started it: plant, push, webhook, poll, seedctl, ...
  int64_t started_at = 0;   // unix seconds
  int64_t duration_ms = 0;
  std::string outcome;      // "ok" or "failed"
  std::string stage;        // "done", or the stage it failed in (eval, build, boot, ...)
  std::string error;        // the failure's message ("" when ok)
};

// A public port of the node: what an exposed tcp/udp/dns entry takes (docs/reconcile.md).
struct PublicPort {
  std::string transport;  // "tcp" or "udp"
  uint16_t port = 0;
  auto operator<=>(const PublicPort&) const = default;
  std::string str() const { return std::to_string(port) + "/" + transport; }
};

enum class JournalState { started, done, failed, reverted };

struct JournalEntry {
  int64_t id = 0;
  int64_t plan = 0;  // actions of one plan share this number
  Action action;
  JournalState state = JournalState::started;
  std::string error;
};

struct QuarantineEntry {
  std::string toplevel;
  std::string instance;  // "<name>.<namespace>"
  std::string reason;
  int64_t until = 0;     // unix seconds
};

class StateStore {
 public:
  static Result<std::unique_ptr<StateStore>> open(const std::string& path);

  // Sources. Planting the same canonical URI twice is idempotent; another URI whose namespace
  // is already taken is Errc::conflict (a 60-bit hash collision: never merge two sources).
  Status plant(const FlakeSource& source, const std::string& planted_by, int64_t now);
  Status unplant(const std::string& canonical);  // Errc::not_found when not planted
  Result<std::vector<SourceRecord>> sources();
  Status record_fetch(const std::string& canonical, const std::string& because, int64_t now);
  // Adds a finished deploy and keeps only the source's newest `keep`.
  Status record_deploy(const std::string& canonical, const DeployRecord& deploy, unsigned keep);
  // The source's kept deploys, newest first.
  Result<std::vector<DeployRecord>> deploys(const std::string& canonical);
  // Creates or replaces (rotation) the source's webhook.
  Status set_webhook(const std::string& canonical, const Webhook& hook, int64_t now);
  Result<std::optional<Webhook>> webhook_of(const std::string& canonical);
  Result<std::optional<Webhook>> webhook_by_hook(const std::string& hook);
  Result<std::optional<SourceRecord>> source_by_namespace(const std::string& ns);

  // Failures: one per source (eval/build of the whole flake) and one per instance.
  Status set_failure(const std::string& scope, const Failure& failure);  // scope: canonical or instance id
  Status clear_failure(const std::string& scope);
  Result<std::optional<Failure>> failure(const std::string& scope);
  // The failures of every instance of a namespace, by instance name.
  Result<std::map<std::string, Failure>> instance_failures(const std::string& ns);

  // Journal: an action is written before it runs and marked after, so a restarted seedd knows
  // which action was cut off (state `started`) and re-checks it before planning again.
  Result<int64_t> next_plan_number();
  Result<int64_t> journal_begin(int64_t plan, const Action& action, int64_t now);
  Status journal_end(int64_t entry, JournalState state, const std::string& error, int64_t now);
  Result<std::vector<JournalEntry>> unfinished();
  Result<std::vector<JournalEntry>> journal_of_plan(int64_t plan);
  // Keeps the newest `keep` entries: the journal is for recovery and recent history.
  Status prune_journal(int64_t keep);

  // Quarantine: a toplevel that failed its health check is not deployed again until `until`.
  Status quarantine(const QuarantineEntry& entry);
  Result<std::vector<QuarantineEntry>> quarantine_list(int64_t now);  // only entries still in force
  Result<std::set<std::string>> quarantined_toplevels(int64_t now);
  Result<int> clear_quarantine(const std::optional<std::string>& toplevel);  // number cleared

  // Public ports and the instance holding each: the first to claim one keeps it, across
  // restarts of seedd, until it gives it up (port_claims.hpp).
  Result<std::map<PublicPort, InstanceId>> port_holders();
  Status hold_port(const PublicPort& port, const InstanceId& holder, int64_t now);
  Status release_port(const PublicPort& port);
  Status release_ports(const InstanceId& holder);  // everything it holds (it is removed)

  // Invites: codes the node owner hands out, each good for `uses` plants until `expires_at`
  // (0 = never). Consuming is atomic, so two plants racing for the last use cannot both win.
  Status add_invite(const std::string& code, unsigned uses, int64_t expires_at);
  // Errc::not_found for an unknown code; Errc::permission_denied when used up or expired.
  Status consume_invite(const std::string& code, int64_t now);

 private:
  explicit StateStore(std::unique_ptr<sql::Database> db) : db_(std::move(db)) {}
  Status migrate();
  std::unique_ptr<sql::Database> db_;
};

std::string to_string(JournalState state);

}  // namespace seed::reconcile
