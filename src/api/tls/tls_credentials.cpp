#include "api/tls/tls_credentials.hpp"

namespace seed::api::tls {
namespace {

constexpr unsigned kMaxChain = 8;  // leaf + intermediates; real chains have 2 or 3

gnutls_datum_t datum(const std::string& s) {
  return gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())), static_cast<unsigned>(s.size())};
}

}  // namespace

TlsCredentials::Pair::~Pair() {
  for (auto& c : chain) gnutls_pcert_deinit(&c);
  if (key != nullptr) gnutls_privkey_deinit(key);
}

TlsCredentials::~TlsCredentials() = default;

Status TlsCredentials::set(const std::string& chain_pem, const std::string& key_pem) {
  auto pair = std::make_unique<Pair>();
  pair->chain.resize(kMaxChain);
  unsigned n = kMaxChain;
  gnutls_datum_t certs = datum(chain_pem);
  int rc = gnutls_pcert_list_import_x509_raw(pair->chain.data(), &n, &certs, GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0 || n == 0) {
    pair->chain.clear();
    return make_error(Errc::invalid_argument, std::string("the certificate chain cannot be read (") +
                                                  gnutls_strerror(rc) + ")");
  }
  pair->chain.resize(n);
  if (gnutls_privkey_init(&pair->key) < 0) return make_error(Errc::internal, "gnutls_privkey_init failed");
  gnutls_datum_t key = datum(key_pem);
  rc = gnutls_privkey_import_x509_raw(pair->key, &key, GNUTLS_X509_FMT_PEM, nullptr, 0);
  if (rc < 0) {
    return make_error(Errc::invalid_argument, std::string("the private key cannot be read (") + gnutls_strerror(rc) + ")");
  }
  std::lock_guard lock(mu_);
  pairs_.push_back(std::move(pair));
  return ok();
}

bool TlsCredentials::ready() const {
  std::lock_guard lock(mu_);
  return !pairs_.empty();
}

int TlsCredentials::retrieve(gnutls_pcert_st** pcert, unsigned* pcert_length, gnutls_privkey_t* key) {
  std::lock_guard lock(mu_);
  if (pairs_.empty()) return -1;
  Pair& p = *pairs_.back();
  *pcert = p.chain.data();
  *pcert_length = static_cast<unsigned>(p.chain.size());
  *key = p.key;
  return 0;
}

}  // namespace seed::api::tls
