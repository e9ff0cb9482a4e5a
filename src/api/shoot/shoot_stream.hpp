// A shoot that runs while its reply is sent (docs/api.md "POST /shoot"). The shoot runs on its
// own thread; the handler waits until the engine says the shoot got past admission and holds a
// clone (ShootRequest::on_started), so refusals (400, 403, 429) keep their HTTP status. From
// then on the reply is a BodyStream. While the command runs the stream sends what there is:
// output lines (NDJSON) or, when nothing came for `heartbeat`, a newline (whitespace before the
// JSON object; an empty line in NDJSON). A client that hung up is noticed when such a write
// fails; the server then drops the stream, whose destructor sets the shoot's `cancelled` flag
// (the engine kills the clone at once) and waits for the shoot's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include "api/http_types.hpp"
#include "common/error.hpp"
#include "reconcile/service.hpp"

namespace seed::api::shoot {

using RunShoot = std::function<Result<reconcile::ShootReply>(const reconcile::ShootRequest&,
                                                             const std::atomic<bool>& cancelled)>;
using ErrorReply = std::function<Response(const Error&)>;

// `ndjson`: the reply is application/x-ndjson: {"stdout":"…"} and {"stderr":"…"} lines as the
// output comes, then the status line (the reply without stdout/stderr), or
// {"error":…,"status":…} when the shoot fails after it started. Otherwise one JSON object
// (reply_json), or {"error":…,"status":…}.
Response start_shoot(RunShoot run, reconcile::ShootRequest request, bool ndjson, ErrorReply error_reply,
                     std::chrono::milliseconds heartbeat = std::chrono::seconds(1));

// The whole reply as one JSON object; output that is not UTF-8 is base64 (shoot_output.hpp).
std::string reply_json(const reconcile::ShootReply& reply);

}  // namespace seed::api::shoot
