#include "api/acme/csr.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

#include "api/acme/jws.hpp"

namespace seed::api::acme {
namespace {

Error bad_csr(std::string detail) { return acme_error("badCSR", std::move(detail)); }

struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
struct PkeyFree2 {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct ExtsFree {
  void operator()(STACK_OF(X509_EXTENSION) * e) const { sk_X509_EXTENSION_pop_free(e, X509_EXTENSION_free); }
};
struct NamesFree {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Status check_key(EVP_PKEY* key) {
  const int type = EVP_PKEY_get_base_id(key);
  const int bits = EVP_PKEY_get_bits(key);
  if (type == EVP_PKEY_RSA && bits >= 2048 && bits <= 8192) return ok();
  if (type == EVP_PKEY_EC && (bits == 256 || bits == 384)) return ok();
  if (type == EVP_PKEY_ED25519) return ok();
  return bad_csr("the CSR's key is not accepted (" + std::to_string(bits) +
                 "-bit); use RSA of 2048 bits or more, EC P-256/P-384 or Ed25519");
}

}  // namespace

Result<CsrInfo> check_csr(std::string_view der) {
  if (der.empty() || der.size() > 16 * 1024) return bad_csr("the CSR is empty or larger than 16 KiB");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509_REQ, ReqFree> req(d2i_X509_REQ(nullptr, &p, long(der.size())));
  if (!req || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return bad_csr("the CSR is not one DER-encoded PKCS#10 request");
  }
  std::unique_ptr<EVP_PKEY, PkeyFree2> key(X509_REQ_get_pubkey(req.get()));
  if (!key) return bad_csr("the CSR has no readable public key");
  SEED_TRY(check_key(key.get()));
  if (X509_REQ_verify(req.get(), key.get()) != 1) return bad_csr("the CSR's signature does not verify with its own key");

  CsrInfo info;
  info.der = std::string(der);
  unsigned char* spki = nullptr;
  const int spki_len = i2d_PUBKEY(key.get(), &spki);
  if (spki_len <= 0) return bad_csr("the CSR's public key cannot be encoded");
  info.key_spki_der.assign(reinterpret_cast<char*>(spki), size_t(spki_len));
  OPENSSL_free(spki);

  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtsFree> exts(X509_REQ_get_extensions(req.get()));
  if (exts) {
    std::unique_ptr<GENERAL_NAMES, NamesFree> sans(
        static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type != GEN_DNS) {
        return bad_csr("the CSR asks for a subject alternative name that is not a DNS name; only DNS names are issued");
      }
      const ASN1_IA5STRING* s = gn->d.dNSName;
      std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), size_t(ASN1_STRING_length(s)));
      if (name.empty() || name.find('\0') != std::string::npos) return bad_csr("the CSR has an empty or malformed DNS name");
      info.names.insert(lower(name));
    }
  }
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  const int cn_index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (cn_index >= 0) {
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn_index));
    std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)), size_t(ASN1_STRING_length(cn)));
    name = lower(name);
    if (!info.names.empty() && !info.names.count(name)) {
      return bad_csr("the CSR's common name " + name + " is not among its subject alternative names");
    }
    info.names.insert(name);
  }
  if (info.names.empty()) return bad_csr("the CSR names no DNS name (no subject alternative name, no common name)");
  return info;
}

std::string make_csr(EVP_PKEY* key, const std::vector<std::string>& sans, const std::string& cn) {
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

}  // namespace seed::api::acme
