#include "reconcile/state_store.hpp"

#include <nlohmann/json.hpp>

namespace seed::reconcile {
namespace {

// The schema: version 1, then one step per later version (each applied once, in order); the
// version lives in PRAGMA user_version so an older seedd refuses a newer database instead of
// misreading it.
constexpr int kSchemaVersion = 4;
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE sources (
  canonical  TEXT PRIMARY KEY,
  ns         TEXT NOT NULL UNIQUE,
  nix_ref    TEXT NOT NULL,
  planted_by TEXT NOT NULL,
  planted_at INTEGER NOT NULL
);
CREATE TABLE failures (
  scope   TEXT PRIMARY KEY,
  stage   TEXT NOT NULL,
  message TEXT NOT NULL,
  at      INTEGER NOT NULL
);
CREATE TABLE journal (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  plan     INTEGER NOT NULL,
  action   TEXT NOT NULL,
  state    TEXT NOT NULL CHECK (state IN ('started', 'done', 'failed', 'reverted')),
  error    TEXT NOT NULL DEFAULT '',
  started  INTEGER NOT NULL,
  finished INTEGER
);
CREATE INDEX journal_unfinished ON journal(state) WHERE state = 'started';
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE quarantine (
  toplevel TEXT PRIMARY KEY,
  instance TEXT NOT NULL,
  reason   TEXT NOT NULL,
  until    INTEGER NOT NULL
);
CREATE TABLE invites (
  code      TEXT PRIMARY KEY,
  uses_left INTEGER NOT NULL,
  expires   INTEGER NOT NULL  -- unix seconds, 0 = never
);
)sql";
// 2: who holds each public port (a port stays with its first holder across restarts).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE port_holders (
  transport TEXT NOT NULL CHECK (transport IN ('tcp', 'udp')),
  port      INTEGER NOT NULL,
  ns        TEXT NOT NULL,
  name      TEXT NOT NULL,
  since     INTEGER NOT NULL,
  PRIMARY KEY (transport, port)
);
)sql";

// 3: when each source was last fetched and why; each source's webhook (an opaque id for its URL
// and the HMAC secret forges sign deliveries with).
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE sources ADD COLUMN fetched_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN fetched_because TEXT NOT NULL DEFAULT '';
CREATE TABLE webhooks (
  canonical TEXT PRIMARY KEY REFERENCES sources(canonical) ON DELETE CASCADE,
  hook      TEXT NOT NULL UNIQUE,
  secret    TEXT NOT NULL,
  created   INTEGER NOT NULL
);
)sql";

// 4: each source's recent deploys (trigger, time, outcome, the failing stage and its error) for
// the node owner's views; unplant removes them with the source.
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE deploys (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  canonical   TEXT NOT NULL REFERENCES sources(canonical) ON DELETE CASCADE,
  because     TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  outcome     TEXT NOT NULL,
  stage       TEXT NOT NULL,
  error       TEXT NOT NULL
);
CREATE INDEX deploys_by_source ON deploys(canonical, id);
)sql";

constexpr const char* kSourceColumns = "canonical, ns, nix_ref, planted_by, planted_at, fetched_at, fetched_because";

SourceRecord source_row(sql::Statement& st) {
  return {st.text(0), st.text(1), st.text(2), st.text(3), st.integer(4), st.integer(5), st.text(6)};
}

nlohmann::json action_json(const Action& a) {
  return {{"kind", to_string(a.kind)}, {"ns", a.id.ns},         {"name", a.id.name},
          {"generation", a.generation}, {"volume", a.volume}, {"size", a.size}};
}

Result<Action> action_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  auto kind = j.is_object() ? action_kind_from_string(j.value("kind", "")) : std::nullopt;
  if (!kind) return make_error(Errc::protocol, "journal entry is not an action: " + text).with("stage", "state");
  Action a{*kind, {j.value("ns", ""), j.value("name", "")}, j.value("generation", ""), j.value("volume", ""),
           j.value("size", uint64_t{0})};
  return a;
}

Result<JournalState> journal_state(const std::string& s) {
  for (JournalState st : {JournalState::started, JournalState::done, JournalState::failed, JournalState::reverted}) {
    if (to_string(st) == s) return st;
  }
  return make_error(Errc::protocol, "unknown journal state '" + s + "'").with("stage", "state");
}

}  // namespace

std::string to_string(JournalState state) {
  switch (state) {
    case JournalState::started: return "started";
    case JournalState::done: return "done";
    case JournalState::failed: return "failed";
    case JournalState::reverted: return "reverted";
  }
  return "?";
}

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& path) {
  auto db = SEED_TRY(sql::Database::open(path));
  std::unique_ptr<StateStore> store(new StateStore(std::move(db)));
  SEED_TRY(store->migrate());
  return store;
}

Status StateStore::migrate() {
  auto version_stmt = SEED_TRY(db_->prepare("PRAGMA user_version"));
  SEED_TRY(version_stmt.step());
  const int64_t version = version_stmt.integer(0);
  if (version > kSchemaVersion) {
    return make_error(Errc::conflict, "the state database " + db_->path() + " is schema version " +
                                          std::to_string(version) + ", newer than this seedd understands (" +
                                          std::to_string(kSchemaVersion) + "); run the newer seedd")
        .with("stage", "state");
  }
  if (version == kSchemaVersion) return ok();
  auto tx = SEED_TRY(sql::Transaction::begin(*db_));
  if (version < 1) SEED_TRY(db_->exec(kSchemaV1));
  if (version < 2) SEED_TRY(db_->exec(kSchemaV2));
  if (version < 3) SEED_TRY(db_->exec(kSchemaV3));
  if (version < 4) SEED_TRY(db_->exec(kSchemaV4));
  SEED_TRY(db_->exec("PRAGMA user_version = " + std::to_string(kSchemaVersion)));
  return tx.commit();
}

Status StateStore::plant(const FlakeSource& source, const std::string& planted_by, int64_t now) {
  auto tx = SEED_TRY(sql::Transaction::begin(*db_));
  auto existing = SEED_TRY(source_by_namespace(source.ns));
  if (existing) {
    if (existing->canonical == source.canonical) return ok();  // planted again: nothing changes
    return make_error(Errc::conflict, "namespace " + source.ns + " already belongs to " + existing->canonical +
                                          "; " + source.canonical + " cannot share it")
        .with("stage", "source")
        .with("uri", source.canonical);
  }
  auto st = SEED_TRY(db_->prepare(
      "INSERT INTO sources (canonical, ns, nix_ref, planted_by, planted_at) VALUES (?, ?, ?, ?, ?)"));
  SEED_TRY(st.bind(1, source.canonical).bind(2, source.ns).bind(3, source.nix_ref).bind(4, planted_by).bind(5, now).run());
  return tx.commit();
}

Status StateStore::unplant(const std::string& canonical) {
  auto hooks = SEED_TRY(db_->prepare("DELETE FROM webhooks WHERE canonical = ?"));
  SEED_TRY(hooks.bind(1, canonical).run());
  auto deploys = SEED_TRY(db_->prepare("DELETE FROM deploys WHERE canonical = ?"));
  SEED_TRY(deploys.bind(1, canonical).run());
  auto st = SEED_TRY(db_->prepare("DELETE FROM sources WHERE canonical = ?"));
  SEED_TRY(st.bind(1, canonical).run());
  if (db_->changes() == 0) {
    return make_error(Errc::not_found, "source " + canonical + " is not planted").with("uri", canonical);
  }
  return ok();
}

Result<std::vector<SourceRecord>> StateStore::sources() {
  auto st = SEED_TRY(db_->prepare(std::string("SELECT ") + kSourceColumns + " FROM sources ORDER BY canonical"));
  std::vector<SourceRecord> out;
  while (SEED_TRY(st.step())) out.push_back(source_row(st));
  return out;
}

Result<std::optional<SourceRecord>> StateStore::source_by_namespace(const std::string& ns) {
  auto st = SEED_TRY(db_->prepare(std::string("SELECT ") + kSourceColumns + " FROM sources WHERE ns = ?"));
  st.bind(1, ns);
  if (!SEED_TRY(st.step())) return std::optional<SourceRecord>();
  return std::optional<SourceRecord>(source_row(st));
}

Status StateStore::record_fetch(const std::string& canonical, const std::string& because, int64_t now) {
  auto st = SEED_TRY(db_->prepare("UPDATE sources SET fetched_at = ?, fetched_because = ? WHERE canonical = ?"));
  return st.bind(1, now).bind(2, because).bind(3, canonical).run();
}

Status StateStore::record_deploy(const std::string& canonical, const DeployRecord& d, unsigned keep) {
  auto tx = SEED_TRY(sql::Transaction::begin(*db_));
  auto add = SEED_TRY(db_->prepare(
      "INSERT INTO deploys (canonical, because, started_at, duration_ms, outcome, stage, error) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  SEED_TRY(add.bind(1, canonical)
               .bind(2, d.because)
               .bind(3, d.started_at)
               .bind(4, d.duration_ms)
               .bind(5, d.outcome)
               .bind(6, d.stage)
               .bind(7, d.error)
               .run());
  auto prune = SEED_TRY(db_->prepare(
      "DELETE FROM deploys WHERE canonical = ? AND id NOT IN "
      "(SELECT id FROM deploys WHERE canonical = ? ORDER BY id DESC LIMIT ?)"));
  SEED_TRY(prune.bind(1, canonical).bind(2, canonical).bind(3, static_cast<int64_t>(keep)).run());
  return tx.commit();
}

Result<std::vector<DeployRecord>> StateStore::deploys(const std::string& canonical) {
  auto st = SEED_TRY(db_->prepare(
      "SELECT because, started_at, duration_ms, outcome, stage, error FROM deploys WHERE canonical = ? "
      "ORDER BY id DESC"));
  st.bind(1, canonical);
  std::vector<DeployRecord> out;
  while (SEED_TRY(st.step())) {
    out.push_back({st.text(0), st.integer(1), st.integer(2), st.text(3), st.text(4), st.text(5)});
  }
  return out;
}

Status StateStore::set_webhook(const std::string& canonical, const Webhook& hook, int64_t now) {
  auto st = SEED_TRY(db_->prepare(
      "INSERT INTO webhooks (canonical, hook, secret, created) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(canonical) DO UPDATE SET hook = excluded.hook, secret = excluded.secret, created = excluded.created"));
  return st.bind(1, canonical).bind(2, hook.hook).bind(3, hook.secret).bind(4, now).run();
}

Result<std::optional<Webhook>> StateStore::webhook_of(const std::string& canonical) {
  auto st = SEED_TRY(db_->prepare("SELECT canonical, hook, secret FROM webhooks WHERE canonical = ?"));
  st.bind(1, canonical);
  if (!SEED_TRY(st.step())) return std::optional<Webhook>();
  return std::optional<Webhook>(Webhook{st.text(0), st.text(1), st.text(2)});
}

Result<std::optional<Webhook>> StateStore::webhook_by_hook(const std::string& hook) {
  auto st = SEED_TRY(db_->prepare("SELECT canonical, hook, secret FROM webhooks WHERE hook = ?"));
  st.bind(1, hook);
  if (!SEED_TRY(st.step())) return std::optional<Webhook>();
  return std::optional<Webhook>(Webhook{st.text(0), st.text(1), st.text(2)});
}

Status StateStore::set_failure(const std::string& scope, const Failure& f) {
  auto st = SEED_TRY(db_->prepare(
      "INSERT INTO failures (scope, stage, message, at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(scope) DO UPDATE SET stage = excluded.stage, message = excluded.message, at = excluded.at"));
  return st.bind(1, scope).bind(2, f.stage).bind(3, f.message).bind(4, f.at).run();
}

Status StateStore::clear_failure(const std::string& scope) {
  auto st = SEED_TRY(db_->prepare("DELETE FROM failures WHERE scope = ?"));
  return st.bind(1, scope).run();
}

Result<std::optional<Failure>> StateStore::failure(const std::string& scope) {
  auto st = SEED_TRY(db_->prepare("SELECT stage, message, at FROM failures WHERE scope = ?"));
  st.bind(1, scope);
  if (!SEED_TRY(st.step())) return std::optional<Failure>();
  return std::optional<Failure>(Failure{st.text(0), st.text(1), st.integer(2)});
}

Result<std::map<std::string, Failure>> StateStore::instance_failures(const std::string& ns) {
  // Instance scopes are "<name>.<ns>"; a namespace never contains '.', so the suffix is exact.
  auto st = SEED_TRY(db_->prepare("SELECT scope, stage, message, at FROM failures WHERE scope LIKE ? ESCAPE '\\'"));
  std::string pattern = "%.";
  for (char c : ns) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  st.bind(1, pattern);
  std::map<std::string, Failure> out;
  while (SEED_TRY(st.step())) {
    const std::string scope = st.text(0);
    out[scope.substr(0, scope.size() - ns.size() - 1)] = Failure{st.text(1), st.text(2), st.integer(3)};
  }
  return out;
}

Result<int64_t> StateStore::next_plan_number() {
  auto tx = SEED_TRY(sql::Transaction::begin(*db_));
  auto up = SEED_TRY(db_->prepare(
      "INSERT INTO counters (name, value) VALUES ('plan', 1) "
      "ON CONFLICT(name) DO UPDATE SET value = value + 1"));
  SEED_TRY(up.run());
  auto get = SEED_TRY(db_->prepare("SELECT value FROM counters WHERE name = 'plan'"));
  SEED_TRY(get.step());
  int64_t n = get.integer(0);
  SEED_TRY(tx.commit());
  return n;
}

Result<int64_t> StateStore::journal_begin(int64_t plan, const Action& action, int64_t now) {
  auto st = SEED_TRY(db_->prepare("INSERT INTO journal (plan, action, state, started) VALUES (?, ?, 'started', ?)"));
  SEED_TRY(st.bind(1, plan).bind(2, action_json(action).dump()).bind(3, now).run());
  return db_->last_insert_id();
}

Status StateStore::journal_end(int64_t entry, JournalState state, const std::string& error, int64_t now) {
  auto st = SEED_TRY(db_->prepare("UPDATE journal SET state = ?, error = ?, finished = ? WHERE id = ?"));
  SEED_TRY(st.bind(1, to_string(state)).bind(2, error).bind(3, now).bind(4, entry).run());
  if (db_->changes() == 0) {
    return make_error(Errc::not_found, "journal entry " + std::to_string(entry) + " does not exist")
        .with("stage", "state");
  }
  return ok();
}

namespace {
Result<std::vector<JournalEntry>> read_journal(sql::Statement& st) {
  std::vector<JournalEntry> out;
  while (SEED_TRY(st.step())) {
    JournalEntry e;
    e.id = st.integer(0);
    e.plan = st.integer(1);
    e.action = SEED_TRY(action_from_json(st.text(2)));
    e.state = SEED_TRY(journal_state(st.text(3)));
    e.error = st.text(4);
    out.push_back(std::move(e));
  }
  return out;
}
}  // namespace

Result<std::vector<JournalEntry>> StateStore::unfinished() {
  auto st = SEED_TRY(db_->prepare("SELECT id, plan, action, state, error FROM journal WHERE state = 'started' ORDER BY id"));
  return read_journal(st);
}

Result<std::vector<JournalEntry>> StateStore::journal_of_plan(int64_t plan) {
  auto st = SEED_TRY(db_->prepare("SELECT id, plan, action, state, error FROM journal WHERE plan = ? ORDER BY id"));
  st.bind(1, plan);
  return read_journal(st);
}

Status StateStore::prune_journal(int64_t keep) {
  auto st = SEED_TRY(db_->prepare(
      "DELETE FROM journal WHERE state != 'started' AND id <= (SELECT MAX(id) FROM journal) - ?"));
  return st.bind(1, keep).run();
}

Status StateStore::quarantine(const QuarantineEntry& e) {
  auto st = SEED_TRY(db_->prepare(
      "INSERT INTO quarantine (toplevel, instance, reason, until) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(toplevel) DO UPDATE SET instance = excluded.instance, reason = excluded.reason, "
      "until = excluded.until"));
  return st.bind(1, e.toplevel).bind(2, e.instance).bind(3, e.reason).bind(4, e.until).run();
}

Result<std::vector<QuarantineEntry>> StateStore::quarantine_list(int64_t now) {
  auto st = SEED_TRY(db_->prepare(
      "SELECT toplevel, instance, reason, until FROM quarantine WHERE until > ? ORDER BY until"));
  st.bind(1, now);
  std::vector<QuarantineEntry> out;
  while (SEED_TRY(st.step())) out.push_back({st.text(0), st.text(1), st.text(2), st.integer(3)});
  return out;
}

Result<std::set<std::string>> StateStore::quarantined_toplevels(int64_t now) {
  std::set<std::string> out;
  for (auto& e : SEED_TRY(quarantine_list(now))) out.insert(std::move(e.toplevel));
  return out;
}

Result<int> StateStore::clear_quarantine(const std::optional<std::string>& toplevel) {
  auto st = SEED_TRY(db_->prepare(toplevel ? "DELETE FROM quarantine WHERE toplevel = ?" : "DELETE FROM quarantine"));
  if (toplevel) st.bind(1, *toplevel);
  SEED_TRY(st.run());
  return db_->changes();
}

}  // namespace seed::reconcile

namespace seed::reconcile {

Status StateStore::add_invite(const std::string& code, unsigned uses, int64_t expires_at) {
  auto st = SEED_TRY(db_->prepare("INSERT INTO invites (code, uses_left, expires) VALUES (?, ?, ?)"));
  return st.bind(1, code).bind(2, static_cast<int64_t>(uses)).bind(3, expires_at).run();
}

Status StateStore::consume_invite(const std::string& code, int64_t now) {
  auto tx = SEED_TRY(sql::Transaction::begin(*db_));
  auto find = SEED_TRY(db_->prepare("SELECT uses_left, expires FROM invites WHERE code = ?"));
  find.bind(1, code);
  if (!SEED_TRY(find.step())) {
    return make_error(Errc::not_found, "unknown invite code; ask the node owner for one (seedctl invite create)")
        .with("stage", "plant");
  }
  const int64_t uses = find.integer(0);
  const int64_t expires = find.integer(1);
  if (uses <= 0) {
    return make_error(Errc::permission_denied, "this invite code has been used up; ask the node owner for a new one")
        .with("stage", "plant");
  }
  if (expires != 0 && expires <= now) {
    return make_error(Errc::permission_denied, "this invite code has expired; ask the node owner for a new one")
        .with("stage", "plant");
  }
  auto use = SEED_TRY(db_->prepare("UPDATE invites SET uses_left = uses_left - 1 WHERE code = ?"));
  SEED_TRY(use.bind(1, code).run());
  return tx.commit();
}

}  // namespace seed::reconcile

namespace seed::reconcile {

Result<std::map<PublicPort, InstanceId>> StateStore::port_holders() {
  auto st = SEED_TRY(db_->prepare("SELECT transport, port, ns, name FROM port_holders"));
  std::map<PublicPort, InstanceId> out;
  while (SEED_TRY(st.step())) {
    out[{st.text(0), static_cast<uint16_t>(st.integer(1))}] = {st.text(2), st.text(3)};
  }
  return out;
}

Status StateStore::hold_port(const PublicPort& port, const InstanceId& holder, int64_t now) {
  // A port held by someone else is never taken over here: claim_ports decides that.
  auto st = SEED_TRY(db_->prepare("INSERT INTO port_holders (transport, port, ns, name, since) VALUES (?, ?, ?, ?, ?)"));
  auto r = st.bind(1, port.transport).bind(2, int64_t{port.port}).bind(3, holder.ns).bind(4, holder.name).bind(5, now).run();
  if (!r) return std::move(r).error().with("port", port.str()).with("stage", "state");
  return ok();
}

Status StateStore::release_port(const PublicPort& port) {
  auto st = SEED_TRY(db_->prepare("DELETE FROM port_holders WHERE transport = ? AND port = ?"));
  return st.bind(1, port.transport).bind(2, int64_t{port.port}).run();
}

Status StateStore::release_ports(const InstanceId& holder) {
  auto st = SEED_TRY(db_->prepare("DELETE FROM port_holders WHERE ns = ? AND name = ?"));
  return st.bind(1, holder.ns).bind(2, holder.name).run();
}

}  // namespace seed::reconcile
