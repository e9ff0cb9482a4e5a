// The one place Silo on the web turns an Error into an HTTP answer.
#pragma once

#include "api/http_types.hpp"
#include "common/error.hpp"

namespace seed::api::silo_web {

// invalid_argument and not_found → 404 (nothing is served there; the message says why, and
// holds no node path), permission_denied → 403, unavailable → 503 with Retry-After, anything
// else → 500 whose text points at seedd's log (where the error is written with its context).
Response error_response(const Error& e);

}  // namespace seed::api::silo_web
