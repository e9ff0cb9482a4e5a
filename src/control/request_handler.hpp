// One decoded control request → one call of the engine's Service → a result object plus its
// human rendering. The transport (control_server) only moves lines; everything a command
// means is here, so a second transport could reuse it unchanged.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/audit_log.hpp"
#include "common/error.hpp"
#include "control/control_protocol.hpp"
#include "reconcile/service.hpp"

namespace seed::control {

struct Reply {
  nlohmann::json result;  // what --json prints, as-is
  std::string text;       // what a human sees
};

// The connection a request arrived on, as the handler sees it.
class Session {
 public:
  virtual ~Session() = default;
  virtual void progress(const reconcile::Progress& progress) = 0;
  virtual void data(std::string_view data) = 0;
  // Becomes true when the client hangs up or the server stops (logs -f ends then).
  virtual const std::atomic<bool>& cancelled() const = 0;
};

struct HandlerContext {
  reconcile::Service& service;
  std::string ssh_host_key_path;
  std::string ca_root_path;
  const AuditLog* audit = nullptr;
};

// Errors carry a stage (the service's, else the command's name) and a hint for the operator.
Result<Reply> handle_request(const Request& request, const HandlerContext& context, Session& session);

}  // namespace seed::control
