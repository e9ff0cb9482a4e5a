#include "api/silo_web/answers.hpp"

#include "common/log.hpp"

namespace seed::api::silo_web {

Response error_response(const Error& e) {
  switch (e.code) {
    case Errc::invalid_argument:
    case Errc::not_found: return problem(404, "about:blank", e.message);
    case Errc::permission_denied: return problem(403, "about:blank", e.message);
    case Errc::unavailable: return problem(503, "about:blank", e.message).with_header("Retry-After", "5");
    default:
      log::error("api.silo_web.failed", {{"error", e.describe()}});
      return problem(500, "about:blank",
                     "seedd could not read this repository; the node owner finds the cause in seedd's log");
  }
}

}  // namespace seed::api::silo_web
