// An instance's meta (schema 1, docs/guest-contract.md) as seedd reads it.
//
// meta comes out of a tenant's flake, and a tenant can write it by hand instead of through
// lib.mkSeed, so seedd trusts none of the Nix-side checks: every field is read strictly (no
// unknown keys, no missing keys, exact types) and every value is bounded here again (sizes,
// ports, mount points, share tags) before it reaches a VM spec or the firewall.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "reconcile/plan_types.hpp"

namespace seed::reconcile {

struct ExposeMeta {
  uint16_t port = 0;
  std::string protocol;                 // tcp udp dns http grpc
  std::vector<std::string> transports;  // "tcp", "udp"
};

struct VolumeMeta {
  std::string size;  // as the tenant wrote it
  uint64_t bytes = 0;
  std::string mount_point;
  std::string share;  // storage-<name>
};

struct ConnectMeta {
  std::string service;
  std::optional<uint16_t> port;
  std::string env;
  std::string file;
  std::string value;
};

struct HealthMeta {
  std::string type;  // http | command
  std::string path;  // http
  uint16_t port = 0;  // http
  std::vector<std::string> command;  // command
  unsigned timeout_s = 120;
};

struct InstanceMeta {
  std::string name;
  std::string system;
  std::string size;
  unsigned vcpus = 1;
  uint64_t memory_mib = 512;
  std::map<std::string, ExposeMeta> expose;
  std::map<std::string, VolumeMeta> storage;
  std::map<std::string, ConnectMeta> connect;
  Rollout rollout = Rollout::recreate;
  bool acme = false;
  bool shoot = false;
  std::optional<HealthMeta> health;
  nlohmann::json raw;  // as read, for the generation hash and `status --json`
};

// One instance's meta; `attr` is its attribute name under `seeds` (must equal meta.name).
// Errors are Errc::invalid_argument, stage "eval", listing every problem at once.
Result<InstanceMeta> parse_instance_meta(const nlohmann::json& meta, const std::string& attr,
                                         const std::string& source);

}  // namespace seed::reconcile
