// The node's own CA for `acme.upstream = "internal"` (LAN-only and offline nodes): a P-256 key
// made once (0600) and a self-signed root whose name constraints permit only the node's zone,
// so a node owner who trusts the root on their devices trusts it for nothing else. Leaves carry
// the CSR's key unchanged (the guest's key never leaves the guest), its names as DNS SANs,
// serverAuth, and a configurable lifetime (default 7 days).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/acme/csr.hpp"
#include "api/acme/issuer.hpp"
#include "common/error.hpp"

namespace seed::api::acme {

struct InternalCaConfig {
  std::string dir;     // holds ca.key (0600) and ca.pem; created if absent
  std::string domain;  // the node's zone: the root may only sign names in it
  std::chrono::seconds leaf_lifetime{std::chrono::hours(24 * 7)};  // seconds: tests renew within one
};

class InternalCa final : public Issuer {
 public:
  // Loads the CA from `dir`, or makes it when neither file exists. One file without the other
  // is an error naming both (a lost key must never silently become a new root on devices).
  static Result<std::unique_ptr<InternalCa>> open(const InternalCaConfig& config);
  ~InternalCa() override;

  const std::string& root_pem() const { return root_pem_; }
  // A leaf for `names` (already checked against the caller) with the CSR's key: PEM of the
  // leaf followed by the root.
  Result<std::string> issue(const CsrInfo& csr, const std::vector<std::string>& names);

  // As an Issuer everything completes at once: an order is "ready" when it starts (seedd
  // knows the caller; nothing to validate) and "valid" as soon as finalize has signed. Signed
  // chains are kept in memory until the facade has stored them; after a restart an unknown
  // handle is simply "ready" again.
  Result<std::string> start_order(const std::vector<std::string>& names) override;
  IssueState state(const std::string& handle) override;
  Status finalize(const std::string& handle, const CsrInfo& csr) override;
  void forget(const std::string& handle) override;

 private:
  InternalCa() = default;
  InternalCaConfig config_;
  EVP_PKEY* key_ = nullptr;
  X509* root_ = nullptr;
  std::string root_pem_;
  std::mutex mu_;
  uint64_t next_ = 0;
  std::map<std::string, std::string> signed_;  // handle → chain, until forgotten
};

}  // namespace seed::api::acme
