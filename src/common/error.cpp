#include "common/error.hpp"

#include <cerrno>
#include <cstring>

namespace seed {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::in_use: return "in_use";
    case Errc::cannot_shrink: return "cannot_shrink";
    case Errc::permission_denied: return "permission_denied";
    case Errc::unavailable: return "unavailable";
    case Errc::timeout: return "timeout";
    case Errc::io: return "io";
    case Errc::process_failed: return "process_failed";
    case Errc::protocol: return "protocol";
    case Errc::conflict: return "conflict";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

Error& Error::with(std::string key, std::string value) & {
  for (auto& [k, v] : context) {
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  }
  context.emplace_back(std::move(key), std::move(value));
  return *this;
}

Error&& Error::with(std::string key, std::string value) && {
  with(std::move(key), std::move(value));
  return std::move(*this);
}

std::optional<std::string_view> Error::get(std::string_view key) const {
  for (const auto& [k, v] : context) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::string Error::describe() const {
  std::string out = message;
  std::string tail;
  bool first = true;
  for (const auto& [k, v] : context) {
    if (v.find('\n') != std::string::npos) {
      tail += "\n" + k + ":\n" + v;
      if (!v.empty() && v.back() == '\n') tail.pop_back();
      continue;
    }
    out += first ? " (" : ", ";
    out += k + "=" + v;
    first = false;
  }
  if (!first) out += ")";
  return out + tail;
}

Error make_error(Errc code, std::string message) { return Error{code, std::move(message), {}}; }

Error errno_error(std::string what, int err) {
  Errc code = Errc::io;
  switch (err) {
    case ENOENT: code = Errc::not_found; break;
    case EEXIST: code = Errc::already_exists; break;
    case EACCES:
    case EPERM: code = Errc::permission_denied; break;
    case EBUSY: code = Errc::in_use; break;
    case EINVAL:
    case ENAMETOOLONG: code = Errc::invalid_argument; break;
    case ETIMEDOUT: code = Errc::timeout; break;
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE: code = Errc::unavailable; break;
    default: break;
  }
  return make_error(code, what + ": " + std::strerror(err));
}

}  // namespace seed
