// Tests only: one libcurl (OpenSSL) handle for https://<name>:<port> with a pinned root, the
// name resolved to 127.0.0.1 and the connection made from `from`. Each get() on it reuses its
// connection when it can, as a browser or git keeps its connection between requests, and
// reports whether it did and which certificate the connection was set up with.
#pragma once

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <string>
#include <string_view>

namespace seed::api::testing {

// Hex digits of a serial number, lower case, without separators or leading zeros: curl prints
// serials with colons, OpenSSL without.
inline std::string serial_digits(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (std::isxdigit(static_cast<unsigned char>(ch))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  while (out.size() > 1 && out[0] == '0') out.erase(0, 1);
  return out;
}

// The serial of the first certificate of a PEM chain (serial_digits form); "" if none.
inline std::string leaf_serial(const std::string& chain_pem) {
  BIO* bio = BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (x == nullptr) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = serial_digits(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(x);
  return out;
}

class TlsClient {
 public:
  TlsClient(const std::string& root_file, const std::string& name, uint16_t port, const std::string& from = "127.0.0.1") {
    c_ = curl_easy_init();
    resolve_ = curl_slist_append(nullptr, (name + ":" + std::to_string(port) + ":127.0.0.1").c_str());
    url_ = "https://" + name + ":" + std::to_string(port);
    iface_ = "host!" + from;
    curl_easy_setopt(c_, CURLOPT_RESOLVE, resolve_);
    curl_easy_setopt(c_, CURLOPT_CAINFO, root_file.c_str());
    curl_easy_setopt(c_, CURLOPT_INTERFACE, iface_.c_str());
    curl_easy_setopt(c_, CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(c_, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c_, CURLOPT_WRITEFUNCTION, &append);
    curl_easy_setopt(c_, CURLOPT_WRITEDATA, &body_);
  }
  ~TlsClient() {
    curl_easy_cleanup(c_);
    curl_slist_free_all(resolve_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  struct Reply {
    CURLcode result = CURLE_OK;
    long status = 0;
    std::string body;
    long new_connections = 0;  // 0: the request went over the connection already open
    std::string serial;        // of the leaf the connection was set up with (serial_digits)
  };
  Reply get(const std::string& path) {
    body_.clear();
    Reply r;
    curl_easy_setopt(c_, CURLOPT_URL, (url_ + path).c_str());
    r.result = curl_easy_perform(c_);
    curl_easy_getinfo(c_, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(c_, CURLINFO_NUM_CONNECTS, &r.new_connections);
    curl_certinfo* info = nullptr;
    if (curl_easy_getinfo(c_, CURLINFO_CERTINFO, &info) == CURLE_OK && info != nullptr && info->num_of_certs > 0) {
      for (curl_slist* s = info->certinfo[0]; s != nullptr; s = s->next) {
        if (std::string_view(s->data).starts_with("Serial Number:")) r.serial = serial_digits(s->data + 14);
      }
    }
    r.body = body_;
    return r;
  }

 private:
  static size_t append(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  CURL* c_ = nullptr;
  curl_slist* resolve_ = nullptr;
  std::string url_, iface_, body_;
};

}  // namespace seed::api::testing
