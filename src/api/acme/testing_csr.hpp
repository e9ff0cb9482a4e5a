// Tests only: a key and a DER CSR made with OpenSSL, as an ACME client would make them.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

namespace seed::api::acme::testing {

// `key_type`: "EC" (P-256), "RSA" (bits), "ED25519". Empty `cn` leaves the subject empty.
inline std::string make_csr(EVP_PKEY* key, const std::vector<std::string>& sans, const std::string& cn = {}) {
  X509_REQ* req = X509_REQ_new();
  X509_REQ_set_version(req, 0);
  if (!cn.empty()) {
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  }
  X509_REQ_set_pubkey(req, key);
  if (!sans.empty()) {
    std::string value;
    for (const auto& s : sans) value += (value.empty() ? "" : ",") + s;
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, value.c_str()));
    X509_REQ_add_extensions(req, exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
  const bool ed = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
  X509_REQ_sign(req, key, ed ? nullptr : EVP_sha256());
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(req, &der);
  std::string out(reinterpret_cast<char*>(der), size_t(len));
  OPENSSL_free(der);
  X509_REQ_free(req);
  return out;
}

}  // namespace seed::api::acme::testing
