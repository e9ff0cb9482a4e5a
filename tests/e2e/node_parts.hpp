// The drivers of a test node under one directory, shared by the in-process fixture and the
// crash child (a separate process that is made to die half-way through a deploy).
#pragma once

#include <string>

#include "reconcile/engine.hpp"

namespace seed::e2e {

// The guest HTTP listener's port the firewall opens to guests on the bridge (10.77.0.1).
inline constexpr uint16_t kGuestApiPort = 9876;
// The bridge's address: the guests' gateway, where seedd's guest listener runs.
inline constexpr const char* kBridgeAddress = "10.77.0.1";

reconcile::EngineConfig node_config(const std::string& root);
// Throws std::runtime_error naming the part that could not be made.
reconcile::EngineParts node_parts(const std::string& root, net::dns::ZoneStore* zone, net::ingress::Server* ingress);
std::unique_ptr<storage::VolumeDriver> node_volumes(const std::string& root);
// A crash child's engine: opened on the node's parts (no DNS zone, no ingress) and started.
Result<std::unique_ptr<reconcile::Engine>> start_child_engine(const reconcile::EngineConfig& config,
                                                              const std::string& root);

}  // namespace seed::e2e
