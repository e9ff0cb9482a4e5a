// The facade's state: accounts, orders, authorizations and certificates, each owned by the
// instance that made it. Kept in memory and written whole to one JSON file (atomic rename)
// after every change, so a seedd killed at any point restarts with the last complete state
// and never a half-written one. Small by nature: a node has tens of instances, each with a
// handful of orders; orders and their certificates are forgotten 30 days after they expire.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace seed::api::acme {

struct Account {
  std::string id;
  std::string owner;  // the instance that created it (opaque key from the caller lookup)
  nlohmann::json jwk;
  std::string thumbprint;
  std::string status = "valid";  // valid | deactivated
  std::vector<std::string> contact;
};

struct Authorization {
  std::string id, order, name;
  // pending until the issuer's authorization for the name is valid (at once for the internal
  // CA); the caller's names need no validation toward the caller itself.
  std::string status = "pending";
  std::string token;
};

struct Order {
  std::string id, account;
  std::vector<std::string> names;  // sorted, lower case
  std::string status = "pending";  // pending | ready | processing | valid | invalid
  std::vector<std::string> authorizations;
  std::string certificate;  // id, once valid
  int64_t expires = 0;      // unix seconds
  std::string upstream;     // the Issuer's handle
  nlohmann::json error;     // the problem document once invalid (null before)
};

struct Certificate {
  std::string id, order, pem;
  bool revoked = false;
  std::vector<std::string> alternates;  // other chains the upstream CA offered (PEM each)
};

class AcmeStore {
 public:
  // Loads `path` if it exists; a corrupt file is an error naming it (never silently empty).
  static Result<AcmeStore> load(const std::string& path);
  Status save() const;

  // Not thread-safe: the facade serialises requests that touch it.
  std::map<std::string, Account> accounts;
  std::map<std::string, Order> orders;
  std::map<std::string, Authorization> authorizations;
  std::map<std::string, Certificate> certificates;

  const Account* account_by_thumbprint(const std::string& thumbprint) const;
  // Drops orders (with their authorizations and certificates) that expired 30 days ago.
  void forget_old(int64_t now);

 private:
  std::string path_;
};

}  // namespace seed::api::acme
