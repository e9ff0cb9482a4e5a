#include "tpm/health.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tcti_swtpm.h>

#include <cstdio>
#include <memory>
#include <vector>

namespace seed::tpm {
namespace {

Error tss_error(Errc code, const std::string& what, TSS2_RC rc) {
  char hex[16];
  std::snprintf(hex, sizeof(hex), "0x%x", rc);
  return make_error(code, what + " failed: " + Tss2_RC_Decode(rc)).with("tss2_rc", hex);
}

// Owns the TCTI and ESAPI contexts for one health run.
class Session {
 public:
  ~Session() {
    if (esys_ != nullptr) Esys_Finalize(&esys_);
    if (tcti_ != nullptr) Tss2_Tcti_Finalize(tcti_);
  }
  Status open(const std::string& server_socket) {
    std::string conf = "path=" + server_socket;
    size_t size = 0;
    TSS2_RC rc = Tss2_Tcti_Swtpm_Init(nullptr, &size, conf.c_str());
    if (rc != TSS2_RC_SUCCESS) return tss_error(Errc::internal, "sizing the swtpm TCTI", rc);
    buffer_.resize(size);
    auto* tcti = reinterpret_cast<TSS2_TCTI_CONTEXT*>(buffer_.data());
    rc = Tss2_Tcti_Swtpm_Init(tcti, &size, conf.c_str());
    if (rc != TSS2_RC_SUCCESS) {
      return tss_error(Errc::unavailable, "connecting to swtpm at " + server_socket, rc);
    }
    tcti_ = tcti;
    rc = Esys_Initialize(&esys_, tcti_, nullptr);
    if (rc != TSS2_RC_SUCCESS) return tss_error(Errc::unavailable, "initialising ESAPI", rc);
    // A wedged swtpm must not hang seedd's start path: bound every response.
    rc = Esys_SetTimeout(esys_, 20000);
    if (rc != TSS2_RC_SUCCESS) return tss_error(Errc::internal, "setting the TPM timeout", rc);
    return ok();
  }
  ESYS_CONTEXT* esys() { return esys_; }

 private:
  std::vector<uint64_t> buffer_;  // 8-byte aligned storage for the TCTI context
  TSS2_TCTI_CONTEXT* tcti_ = nullptr;
  ESYS_CONTEXT* esys_ = nullptr;
};

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(digits[p[i] >> 4]);
    s.push_back(digits[p[i] & 15]);
  }
  return s;
}

// sha256 over the DER SubjectPublicKeyInfo, the form `openssl pkey -pubin -outform DER` and
// certificate tools hash, so the value can be compared with the EK certificate's key.
Result<std::string> rsa_fingerprint(const TPM2B_PUBLIC& pub) {
  const auto& rsa = pub.publicArea.unique.rsa;
  uint32_t exponent = pub.publicArea.parameters.rsaDetail.exponent;
  if (exponent == 0) exponent = 65537;  // TPM encoding of the default exponent
  std::unique_ptr<BIGNUM, decltype(&BN_free)> n(BN_bin2bn(rsa.buffer, rsa.size, nullptr),
                                                &BN_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> e(BN_new(), &BN_free);
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                      &OSSL_PARAM_BLD_free);
  if (!n || !e || !bld || BN_set_word(e.get(), exponent) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return make_error(Errc::internal, "building the EK public key failed (OpenSSL)");
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(
      OSSL_PARAM_BLD_to_param(bld.get()), &OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return make_error(Errc::protocol, "the TPM's EK is not a valid RSA public key");
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, &EVP_PKEY_free);
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key.get(), &der);
  if (len <= 0) return make_error(Errc::internal, "encoding the EK public key failed");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), digest);
  OPENSSL_free(der);
  return "sha256:" + hex(digest, sizeof(digest));
}

}  // namespace

Result<TpmHealth> check_health(const std::string& server_socket) {
  Session s;
  SEED_TRY(s.open(server_socket));
  TSS2_RC rc = Esys_Startup(s.esys(), TPM2_SU_CLEAR);
  if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE) {
    return tss_error(Errc::protocol, "TPM2_Startup", rc);
  }
  rc = Esys_SelfTest(s.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_YES);
  if (rc != TSS2_RC_SUCCESS) return tss_error(Errc::protocol, "TPM2_SelfTest", rc);

  ESYS_TR ek = ESYS_TR_NONE;
  rc = Esys_TR_FromTPMPublic(s.esys(), kRsaEkHandle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                             &ek);
  if (rc != TSS2_RC_SUCCESS) {
    return tss_error(Errc::protocol, "reading the persisted EK at 0x81010001 (was the TPM "
                                     "provisioned by swtpm_setup?)",
                     rc);
  }
  TPM2B_PUBLIC* pub = nullptr;
  TPM2B_NAME* name = nullptr;
  TPM2B_NAME* qualified = nullptr;
  rc = Esys_ReadPublic(s.esys(), ek, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name,
                       &qualified);
  std::unique_ptr<TPM2B_PUBLIC, decltype(&Esys_Free)> pub_owner(pub, &Esys_Free);
  Esys_Free(name);
  Esys_Free(qualified);
  if (rc != TSS2_RC_SUCCESS) return tss_error(Errc::protocol, "TPM2_ReadPublic of the EK", rc);
  if (pub->publicArea.type != TPM2_ALG_RSA) {
    return make_error(Errc::protocol, "the EK at 0x81010001 is not an RSA key");
  }
  TpmHealth h;
  h.ek_bits = pub->publicArea.parameters.rsaDetail.keyBits;
  h.ek_fingerprint = SEED_TRY(rsa_fingerprint(*pub));
  // An orderly shutdown, so the TPM does not count this run as a disorderly power loss.
  rc = Esys_Shutdown(s.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_SU_CLEAR);
  if (rc != TSS2_RC_SUCCESS) return tss_error(Errc::protocol, "TPM2_Shutdown", rc);
  return h;
}

}  // namespace seed::tpm
