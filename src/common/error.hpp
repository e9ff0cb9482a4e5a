// Error and Result<T>: how every expected failure travels in Seed.
//
// An Error carries a code callers branch on (the sentinel errors of a driver), a one-line
// message for humans, and ordered key=value context (stage, file, instance, captured stderr).
// A code becomes a process exit status in exactly one place, common/exit_code.hpp (the SSH CLI
// and seedctl share it); the control socket carries codes by name (to_string).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace seed {

enum class Errc {
  invalid_argument,  // the caller's input is wrong; fix the input
  not_found,         // a named thing does not exist
  already_exists,
  in_use,
  cannot_shrink,
  permission_denied,
  unavailable,       // a dependency (binary, socket, service) is missing or down
  timeout,
  io,
  process_failed,    // an external program ran and failed
  protocol,          // a peer answered something we cannot understand
  conflict,
  internal,
};

std::string_view to_string(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;
  std::vector<std::pair<std::string, std::string>> context;

  // Adds (or replaces) one context field; returns *this so calls chain.
  Error& with(std::string key, std::string value) &;
  Error&& with(std::string key, std::string value) &&;

  std::optional<std::string_view> get(std::string_view key) const;

  // "message (key=value, key=value)"; multi-line values (stderr) go on their own lines.
  std::string describe() const;
};

Error make_error(Errc code, std::string message);

// errno-based failures: "<what>: <strerror(err)>", with Errc derived from errno.
Error errno_error(std::string what, int err);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_; }
  explicit operator bool() const { return ok(); }
  void value() const {}
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status ok() { return {}; }

}  // namespace seed

// SEED_TRY(expr): evaluates a Result; on error returns the error from the enclosing function,
// otherwise yields the value. (A GNU statement expression, supported by GCC and Clang.)
#define SEED_TRY(expr)                                  \
  ({                                                    \
    auto seed_try_result_ = (expr);                     \
    if (!seed_try_result_) {                            \
      return std::move(seed_try_result_).error();       \
    }                                                   \
    std::move(seed_try_result_).value();                \
  })
