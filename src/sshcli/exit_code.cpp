#include "sshcli/exit_code.hpp"

namespace seed::sshcli {

int exit_code(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::cannot_shrink:
      return 2;
    case Errc::permission_denied:
      return 3;
    case Errc::not_found:
      return 4;
    case Errc::unavailable:
    case Errc::timeout:
      return 5;
    case Errc::already_exists:
    case Errc::in_use:
    case Errc::conflict:
      return 6;
    case Errc::io:
    case Errc::process_failed:
    case Errc::protocol:
    case Errc::internal:
      return 1;
  }
  return 1;
}

}  // namespace seed::sshcli
