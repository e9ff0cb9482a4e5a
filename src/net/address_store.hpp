// The address pool persisted in one JSON file (written atomically: temp + fsync + rename), so
// an instance keeps its address across seedd restarts. JSON rather than SQLite: the state is a
// few hundred entries at most, changes only when instances are created or removed, and an
// operator can read it with `jq`. Every change is on disk before it is returned.
#pragma once

#include <string>

#include "common/error.hpp"
#include "net/address_pool.hpp"

namespace seed::net {

class AddressStore {
 public:
  // Loads `path` (a missing file is an empty pool) and checks it against `config`.
  static Result<AddressStore> open(std::string path, PoolConfig config);

  // Allocation and release are written to disk before returning; if the write fails the
  // in-memory pool is left as it was.
  Result<Assignment> allocate(const InstanceId& id);
  Status release(const InstanceId& id);
  std::optional<Assignment> find(const InstanceId& id) const { return pool_.find(id); }
  const AddressPool& pool() const { return pool_; }
  const std::string& path() const { return path_; }

 private:
  AddressStore(std::string path, AddressPool pool)
      : path_(std::move(path)), pool_(std::move(pool)) {}
  Status save() const;

  std::string path_;
  AddressPool pool_;
};

}  // namespace seed::net
