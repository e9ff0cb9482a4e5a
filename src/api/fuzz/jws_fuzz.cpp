// libFuzzer target for what a guest sends the ACME facade before anything is trusted: the JWS
// envelope (JSON, base64url, the protected header), the JWK → OpenSSL key step and, when both
// parse, the signature check and the thumbprint; the finalize CSR checks (DER PKCS#10, and the
// {"csr": …} payload around it); newOrder's identifiers; and keyChange's inner JWS. Each input
// goes to every decoder (the facade reaches them only after the outer JWS verified, but each
// must stand on its own). Any crash, leak, sanitizer report or escaping exception fails
// scripts/test's fuzz job.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/acme/base64url.hpp"
#include "api/acme/csr.hpp"
#include "api/acme/jws.hpp"
#include "api/acme/key_change.hpp"
#include "api/acme/order_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace seed::api::acme;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)base64url_decode(input);
  (void)check_csr(input);
  (void)decode_key_change(input, "http://10.100.0.1:9876/acme/key-change");
  const nlohmann::json payload = nlohmann::json::parse(input, nullptr, false);
  if (!payload.is_discarded()) {
    (void)order_names(payload, {"web.team.seed.test", "www.example.org"}, "seed.test");
    (void)finalize_csr(payload);
  }
  auto jws = parse_jws(input);
  if (!jws.ok()) return 0;
  if (jws->jwk) {
    (void)jwk_thumbprint(*jws->jwk);
    if (auto key = public_key_from_jwk(*jws->jwk); key.ok()) (void)verify_jws(*jws, key->get());
  }
  return 0;
}
