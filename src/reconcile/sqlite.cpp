#include "reconcile/sqlite.hpp"

namespace seed::reconcile::sql {
namespace {

Error sqlite_error(sqlite3* db, std::string_view what, std::string_view statement) {
  Errc code = Errc::io;
  int rc = sqlite3_extended_errcode(db);
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) code = Errc::already_exists;
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) code = Errc::in_use;
  return make_error(code, std::string(what) + ": " + sqlite3_errmsg(db))
      .with("stage", "state")
      .with("sql", std::string(statement.substr(0, 200)));
}

}  // namespace

Statement& Statement::bind(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) != SQLITE_OK &&
      bind_status_.ok()) {
    bind_status_ = sqlite_error(db_, "cannot bind a parameter", text_);
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = sqlite_error(db_, "cannot bind a parameter", text_);
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = sqlite_error(db_, "cannot bind a parameter", text_);
  }
  return *this;
}

Result<bool> Statement::step() {
  if (!bind_status_) return bind_status_.error();
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, "statement failed", text_);
}

Status Statement::run() {
  for (;;) {
    bool row = SEED_TRY(step());
    if (!row) return ok();
  }
}

std::string Statement::text(int column) const {
  const unsigned char* t = sqlite3_column_text(stmt_, column);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
           : std::string();
}

int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return make_error(Errc::io, "cannot open the state database " + path + ": " + msg)
        .with("file", path)
        .with("stage", "state");
  }
  std::unique_ptr<Database> out(new Database(db, path));
  sqlite3_busy_timeout(db, 5000);
  SEED_TRY(out->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  return out;
}

Database::~Database() { sqlite3_close(db_); }

Result<Statement> Database::prepare(std::string_view text) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, text.data(), static_cast<int>(text.size()), &stmt, nullptr) != SQLITE_OK) {
    return sqlite_error(db_, "cannot prepare a statement", text);
  }
  return Statement(db_, stmt, std::string(text));
}

Status Database::exec(std::string_view script) {
  std::string s(script);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(Errc::io, "state database: " + msg).with("stage", "state").with("sql", s.substr(0, 200));
  }
  return ok();
}

Result<Transaction> Transaction::begin(Database& db) {
  SEED_TRY(db.exec("BEGIN IMMEDIATE"));
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  SEED_TRY(db_->exec("COMMIT"));
  db_ = nullptr;
  return ok();
}

}  // namespace seed::reconcile::sql
