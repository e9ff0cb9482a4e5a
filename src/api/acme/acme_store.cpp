#include "api/acme/acme_store.hpp"

#include <filesystem>

#include "common/fd.hpp"

namespace seed::api::acme {

using json = nlohmann::json;

// WITH_DEFAULT: a member added later (upstream, error, alternates) reads as its default from
// a file an older seedd wrote.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Account, id, owner, jwk, thumbprint, status, contact)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Authorization, id, order, name, status, token)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Order, id, account, names, status, authorizations, certificate, expires,
                                                upstream, error)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Certificate, id, order, pem, revoked, alternates)

Result<AcmeStore> AcmeStore::load(const std::string& path) {
  AcmeStore store;
  store.path_ = path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return store;
  auto text = SEED_TRY(read_file(path));
  try {
    json j = json::parse(text);
    store.accounts = j.at("accounts").get<std::map<std::string, Account>>();
    store.orders = j.at("orders").get<std::map<std::string, Order>>();
    store.authorizations = j.at("authorizations").get<std::map<std::string, Authorization>>();
    store.certificates = j.at("certificates").get<std::map<std::string, Certificate>>();
  } catch (const json::exception& e) {
    return make_error(Errc::invalid_argument, "the ACME facade's state file is corrupt: " + std::string(e.what()))
        .with("file", path)
        .with("stage", "acme")
        .with("hint", "move the file away to start with no accounts (guests then register again)");
  }
  return store;
}

Status AcmeStore::save() const {
  json j{{"accounts", accounts}, {"orders", orders}, {"authorizations", authorizations}, {"certificates", certificates}};
  return write_file_atomic(path_, j.dump() + "\n", 0600);
}

const Account* AcmeStore::account_by_thumbprint(const std::string& thumbprint) const {
  for (const auto& [id, a] : accounts) {
    if (a.thumbprint == thumbprint) return &a;
  }
  return nullptr;
}

void AcmeStore::forget_old(int64_t now) {
  constexpr int64_t kKeep = 30 * 86400;
  for (auto it = orders.begin(); it != orders.end();) {
    if (it->second.expires + kKeep >= now) {
      ++it;
      continue;
    }
    for (const auto& a : it->second.authorizations) authorizations.erase(a);
    if (!it->second.certificate.empty()) certificates.erase(it->second.certificate);
    it = orders.erase(it);
  }
}

}  // namespace seed::api::acme
