// Tests only: the DER CSR an ACME client would make (acme::make_csr, csr.hpp).
#pragma once

#include "api/acme/csr.hpp"

namespace seed::api::acme::testing {

using acme::make_csr;  // now in csr.hpp: seedd makes its own CSRs too

}  // namespace seed::api::acme::testing
