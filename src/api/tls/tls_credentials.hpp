// The certificate a TLS-terminating HTTP listener serves, swappable while it runs. libmicrohttpd
// asks for it once per handshake (MHD_OPTION_HTTPS_CERT_CALLBACK, gnutls's retrieve function),
// so set() takes effect at the next handshake: no restart, and connections already past their
// handshake keep going on the certificate they started with (docs/api.md, "HTTPS for seedd's
// own names"). Until the first set() every handshake is refused; plain HTTP is not affected.
#pragma once

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace seed::api::tls {

class TlsCredentials {
 public:
  TlsCredentials() = default;
  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  // Parses a PEM chain (leaf first) and its PEM private key; serves them from the next
  // handshake on. A bad chain or key is an error and leaves the served pair as it was.
  Status set(const std::string& chain_pem, const std::string& key_pem);
  bool ready() const;

  // gnutls_certificate_retrieve_function2's answer: the current chain and key, or -1 (the
  // handshake fails with an alert) while there is none.
  int retrieve(gnutls_pcert_st** pcert, unsigned* pcert_length, gnutls_privkey_t* key);

 private:
  struct Pair {
    std::vector<gnutls_pcert_st> chain;
    gnutls_privkey_t key = nullptr;
    ~Pair();
  };
  mutable std::mutex mu_;
  // Every pair ever set, newest last. gnutls keeps pointers into the pair a session was given
  // for that session's lifetime and says nothing when it ends, so none is freed before the
  // listener is gone; a renewal every few weeks makes this a few KiB a year.
  std::vector<std::unique_ptr<Pair>> pairs_;
};

}  // namespace seed::api::tls
