// Where the facade's certificates come from: the internal CA (signs at once) or, in ACME mode,
// the upstream CA through seedd's own ACME client. The facade checks who may have which names;
// an Issuer only turns a checked CSR into a certificate chain (PEM, leaf first).
#pragma once

#include <string>
#include <vector>

#include "api/acme/csr.hpp"
#include "common/error.hpp"

namespace seed::api::acme {

class Issuer {
 public:
  virtual ~Issuer() = default;
  virtual Result<std::string> issue(const CsrInfo& csr, const std::vector<std::string>& names) = 0;
};

}  // namespace seed::api::acme
