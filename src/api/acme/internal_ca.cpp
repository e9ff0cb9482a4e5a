#include "api/acme/internal_ca.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <filesystem>

#include "common/fd.hpp"

namespace seed::api::acme {
namespace {

namespace fs = std::filesystem;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, size_t(n));
}

Error ca_error(std::string what) {
  return make_error(Errc::internal, "internal CA: " + std::move(what)).with("stage", "acme");
}

// Adds one v3 extension in OpenSSL's config syntax ("critical,CA:TRUE").
bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool random_serial(X509* cert) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return false;
  raw[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(raw, sizeof raw, nullptr);
  const bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

bool set_validity(X509* cert, std::chrono::seconds lifetime) {
  // A minute back, so a guest whose clock is slightly behind accepts the certificate at once.
  return X509_gmtime_adj(X509_getm_notBefore(cert), -60) != nullptr &&
         X509_gmtime_adj(X509_getm_notAfter(cert), long(lifetime.count())) != nullptr;
}

}  // namespace

InternalCa::~InternalCa() {
  X509_free(root_);
  EVP_PKEY_free(key_);
}

Result<std::unique_ptr<InternalCa>> InternalCa::open(const InternalCaConfig& config) {
  std::unique_ptr<InternalCa> ca(new InternalCa());
  ca->config_ = config;
  const std::string key_file = config.dir + "/ca.key", cert_file = config.dir + "/ca.pem";
  std::error_code ec;
  const bool have_key = fs::exists(key_file, ec), have_cert = fs::exists(cert_file, ec);
  if (have_key != have_cert) {
    return make_error(Errc::conflict, "internal CA: " + (have_key ? cert_file : key_file) + " is missing but " +
                                          (have_key ? key_file : cert_file) + " exists")
        .with("stage", "acme")
        .with("hint", "restore the missing file from a backup; to start a new root (every device must trust it "
                      "again), move both files away");
  }
  if (have_key) {
    auto key_pem = SEED_TRY(read_file(key_file));
    auto cert_pem = SEED_TRY(read_file(cert_file));
    Bio kb(BIO_new_mem_buf(key_pem.data(), int(key_pem.size())));
    Bio cb(BIO_new_mem_buf(cert_pem.data(), int(cert_pem.size())));
    ca->key_ = PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr);
    ca->root_ = PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr);
    if (ca->key_ == nullptr || ca->root_ == nullptr || X509_check_private_key(ca->root_, ca->key_) != 1) {
      return ca_error(key_file + " and " + cert_file + " are not a matching key and certificate");
    }
    ca->root_pem_ = cert_pem;
    return ca;
  }

  fs::create_directories(config.dir, ec);
  fs::permissions(config.dir, fs::perms::owner_all, ec);
  ca->key_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ca->root_ = X509_new();
  if (ca->key_ == nullptr || ca->root_ == nullptr) return ca_error("cannot make a key");
  X509* root = ca->root_;
  X509_set_version(root, X509_VERSION_3);
  X509_NAME* name = X509_get_subject_name(root);
  const std::string cn = "Seed internal CA for " + config.domain;
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Seed"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(root, name);
  X509_set_pubkey(root, ca->key_);
  if (!random_serial(root) || !set_validity(root, std::chrono::hours(24 * 3650)) ||
      !add_ext(root, root, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_ext(root, root, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_ext(root, root, NID_subject_key_identifier, "hash") ||
      !add_ext(root, root, NID_name_constraints, "critical,permitted;DNS:" + config.domain) ||
      X509_sign(root, ca->key_, EVP_sha256()) <= 0) {
    return ca_error("cannot make the root certificate");
  }
  Bio kb(BIO_new(BIO_s_mem())), cb(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(kb.get(), ca->key_, nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_X509(cb.get(), root);
  ca->root_pem_ = bio_text(cb.get());
  // The key first: a crash between the two leaves a key without a root, which open() reports.
  SEED_TRY(write_file_atomic(key_file, bio_text(kb.get()), 0600));
  SEED_TRY(write_file_atomic(cert_file, ca->root_pem_, 0644));
  return ca;
}

Result<std::string> InternalCa::issue(const CsrInfo& csr, const std::vector<std::string>& names) {
  if (names.empty()) return ca_error("no names to issue for");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(csr.key_spki_der.data());
  EVP_PKEY* leaf_key = d2i_PUBKEY(nullptr, &p, long(csr.key_spki_der.size()));
  if (leaf_key == nullptr) return ca_error("cannot read the CSR's key");
  X509* leaf = X509_new();
  std::string sans;
  for (const auto& n : names) sans += (sans.empty() ? "DNS:" : ",DNS:") + n;
  X509_set_version(leaf, X509_VERSION_3);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(leaf), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1, 0);
  X509_set_issuer_name(leaf, X509_get_subject_name(root_));
  X509_set_pubkey(leaf, leaf_key);
  const bool rsa = EVP_PKEY_get_base_id(leaf_key) == EVP_PKEY_RSA;
  const bool made = random_serial(leaf) && set_validity(leaf, config_.leaf_lifetime) &&
                    add_ext(leaf, root_, NID_basic_constraints, "critical,CA:FALSE") &&
                    add_ext(leaf, root_, NID_key_usage, rsa ? "critical,digitalSignature,keyEncipherment"
                                                            : "critical,digitalSignature") &&
                    add_ext(leaf, root_, NID_ext_key_usage, "serverAuth") &&
                    add_ext(leaf, root_, NID_authority_key_identifier, "keyid:always") &&
                    add_ext(leaf, root_, NID_subject_alt_name, sans) && X509_sign(leaf, key_, EVP_sha256()) > 0;
  std::string pem;
  if (made) {
    Bio b(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(b.get(), leaf);
    pem = bio_text(b.get()) + root_pem_;
  }
  X509_free(leaf);
  EVP_PKEY_free(leaf_key);
  if (!made) return ca_error("cannot sign a certificate for " + names[0]);
  return pem;
}

Result<std::string> InternalCa::start_order(const std::vector<std::string>&) {
  std::lock_guard lock(mu_);
  return "internal-" + std::to_string(++next_);
}

IssueState InternalCa::state(const std::string& handle) {
  std::lock_guard lock(mu_);
  IssueState s;
  auto it = signed_.find(handle);
  s.status = it == signed_.end() ? "ready" : "valid";
  if (it != signed_.end()) s.chain = it->second;
  return s;
}

Status InternalCa::finalize(const std::string& handle, const CsrInfo& csr) {
  const std::string chain = SEED_TRY(issue(csr, std::vector<std::string>(csr.names.begin(), csr.names.end())));
  std::lock_guard lock(mu_);
  signed_[handle] = chain;
  return ok();
}

void InternalCa::forget(const std::string& handle) {
  std::lock_guard lock(mu_);
  signed_.erase(handle);
}

}  // namespace seed::api::acme
