#include "net/ingress/server.hpp"

#include "net/ingress/server_loop.hpp"

namespace seed::net::ingress {

Server::Server(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}

Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::start(ServerConfig config) {
  if (config.listeners.empty()) {
    return make_error(Errc::invalid_argument, "ingress has no listeners configured")
        .with("hint", "configure at least one ingress port (e.g. 80 for http, 443 for tls)");
  }
  if (config.max_connections == 0 || config.max_per_source == 0 || config.buffer_bytes < 4096 ||
      config.max_head_bytes < 256 || config.max_head_bytes >= config.buffer_bytes ||
      config.pipe_bytes < 4096 || config.pipe_bytes > (1u << 20)) {
    return make_error(Errc::invalid_argument, "ingress limits are out of range")
        .with("hint", "connection limits must be positive, buffers at least 4 KiB and larger "
                      "than the head limit, splice pipes 4 KiB to 1 MiB");
  }
  for (auto& l : config.listeners) {
    if (l.public_port == 0) l.public_port = l.port;
    if (l.public_port == 0) {
      return make_error(Errc::invalid_argument, "ingress listener needs a public port")
          .with("address", l.address)
          .with("hint", "set public_port when binding port 0");
    }
  }
  auto loop = std::make_unique<Loop>(std::move(config));
  SEED_TRY(loop->bind_all());
  loop->start_thread();
  return std::unique_ptr<Server>(new Server(std::move(loop)));
}

Status Server::set_routes(const DesiredRoutes& routes) { return loop_->set_routes(routes); }

void Server::set_local_backend(const std::string& name, LocalBackend receiver) {
  loop_->set_local_backend(name, std::move(receiver));
}

uint16_t Server::bound_port(size_t listener) const { return loop_->bound_port(listener); }

ServerStats Server::stats() const { return loop_->stats(); }
std::vector<RouteBytes> Server::route_bytes() const { return loop_->route_bytes(); }

void Server::stop() {
  if (loop_) loop_->stop();
}

}  // namespace seed::net::ingress
