#include "common/exit_code.hpp"

namespace seed {

ExitCode exit_code(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::cannot_shrink:
      return exit_usage;
    case Errc::permission_denied:
      return exit_denied;
    case Errc::not_found:
      return exit_not_found;
    case Errc::unavailable:
    case Errc::timeout:
      return exit_retry_later;
    case Errc::already_exists:
    case Errc::in_use:
    case Errc::conflict:
      return exit_conflict;
    case Errc::io:
    case Errc::process_failed:
    case Errc::protocol:
    case Errc::internal:
      return exit_failed;
  }
  return exit_failed;  // not reached: -Wswitch makes a new Errc pick its row above
}

}  // namespace seed
