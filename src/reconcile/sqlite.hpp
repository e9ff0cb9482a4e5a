// A thin RAII layer over SQLite's C API: a connection, prepared statements with typed binds,
// and transactions. Errors carry SQLite's own message and the statement.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace seed::reconcile::sql {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string text) : db_(db), stmt_(stmt), text_(std::move(text)) {}
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)), text_(std::move(o.text_)) {}
  Statement(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, int64_t value);
  Statement& bind_null(int index);
  // One step: true while a row is available, false when done.
  Result<bool> step();
  // Runs to completion, ignoring rows.
  Status run();

  std::string text(int column) const;
  int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string text_;
  Status bind_status_ = ok();
};

class Database {
 public:
  // Opens (creating if needed) with WAL and full fsync: the journal must survive kill -9 and
  // power loss alike.
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  Database(const Database&) = delete;
  ~Database();

  Result<Statement> prepare(std::string_view text);
  Status exec(std::string_view script);  // several statements, no binds
  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

// BEGIN IMMEDIATE … COMMIT; rolls back unless commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);
  Transaction(Transaction&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

}  // namespace seed::reconcile::sql
