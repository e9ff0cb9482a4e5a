// Unix stream sockets. seedd binds every socket a child serves on (Cloud Hypervisor's API,
// QEMU's QMP, virtiofsd's vhost-user socket) and passes the listening fd to the child, so
// there is no window in which the child is up but its socket is not.
#pragma once

#include <chrono>
#include <string>

#include "common/fd.hpp"

namespace seed {

// sun_path holds 107 bytes plus NUL; longer paths fail here with the path named, not later
// with a bare EINVAL from bind().
Status check_socket_path(const std::string& path);

// Binds and listens on `path` (removing a stale socket file first). The fd is close-on-exec;
// spawn() clears that flag on the number it hands to a child.
Result<UniqueFd> listen_unix(const std::string& path, int backlog = 16);

// Connects, retrying ECONNREFUSED/ENOENT until `timeout` runs out.
Result<UniqueFd> connect_unix(const std::string& path,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

}  // namespace seed
