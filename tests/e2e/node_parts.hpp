// The drivers of a test node under one directory, shared by the in-process fixture and the
// crash child (a separate process that is made to die half-way through a deploy).
#pragma once

#include <string>

#include "reconcile/engine.hpp"

namespace seed::e2e {

reconcile::EngineConfig node_config(const std::string& root);
// Throws std::runtime_error naming the part that could not be made.
reconcile::EngineParts node_parts(const std::string& root, net::dns::ZoneStore* zone, net::ingress::Server* ingress);
std::unique_ptr<storage::VolumeDriver> node_volumes(const std::string& root);

}  // namespace seed::e2e
