// libFuzzer target for what a guest sends the ACME facade before anything is trusted: the JWS
// envelope (JSON, base64url, the protected header), the JWK → OpenSSL key step and, when both
// parse, the signature check and the thumbprint; and the finalize CSR checks (DER PKCS#10). Any crash, leak or sanitizer report fails
// scripts/test's fuzz job.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/acme/base64url.hpp"
#include "api/acme/csr.hpp"
#include "api/acme/jws.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace seed::api::acme;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)base64url_decode(input);
  (void)check_csr(input);
  auto jws = parse_jws(input);
  if (!jws.ok()) return 0;
  if (jws->jwk) {
    (void)jwk_thumbprint(*jws->jwk);
    if (auto key = public_key_from_jwk(*jws->jwk); key.ok()) (void)verify_jws(*jws, key->get());
  }
  return 0;
}
