// A TLS listener of the HTTP server with real libcurl (OpenSSL) as the client and certificates
// from the real internal CA: no handshake before a certificate is set (while the plain
// listener beside it is unaffected), the request's source is the client's address, and a swapped
// certificate is served from the next handshake on while a keep-alive connection made before
// the swap goes on answering.
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "api/acme/internal_ca.hpp"
#include "api/http_server.hpp"
#include "api/testing/listen.hpp"
#include "api/tls/tls_credentials.hpp"
#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::api::tls {
namespace {

using ::testing::HasSubstr;

size_t append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct Pair {
  std::string chain, key;
};

// A fresh P-256 key and the internal CA's chain for `name` with it.
Pair issue(acme::InternalCa& ca, const std::string& name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  Pair p;
  auto csr = acme::check_csr(acme::make_csr(key, {"DNS:" + name}));
  EXPECT_TRUE(csr) << csr.error().describe();
  auto chain = ca.issue(*csr, {name});
  EXPECT_TRUE(chain) << chain.error().describe();
  p.chain = chain ? *chain : "";
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  p.key.assign(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return p;
}

// One libcurl handle: each get() on it reuses its connection when it can, as a browser or git
// keeps its connection open between requests.
class Client {
 public:
  Client(const std::string& root_file, uint16_t port) {
    c_ = curl_easy_init();
    resolve_ = curl_slist_append(nullptr, ("silo.seed.test:" + std::to_string(port) + ":127.0.0.1").c_str());
    url_ = "https://silo.seed.test:" + std::to_string(port);
    curl_easy_setopt(c_, CURLOPT_RESOLVE, resolve_);
    curl_easy_setopt(c_, CURLOPT_CAINFO, root_file.c_str());
    curl_easy_setopt(c_, CURLOPT_INTERFACE, "host!127.0.0.2");
    curl_easy_setopt(c_, CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(c_, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c_, CURLOPT_WRITEFUNCTION, &append);
    curl_easy_setopt(c_, CURLOPT_WRITEDATA, &body_);
  }
  ~Client() {
    curl_easy_cleanup(c_);
    curl_slist_free_all(resolve_);
  }
  struct Reply {
    CURLcode result = CURLE_OK;
    long status = 0;
    std::string body;
    long new_connections = 0;
    std::string serial;  // of the certificate the connection was set up with
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
        if (std::string_view(s->data).starts_with("Serial Number:")) r.serial = s->data + 14;
      }
    }
    r.body = body_;
    return r;
  }

 private:
  CURL* c_ = nullptr;
  curl_slist* resolve_ = nullptr;
  std::string url_, body_;
};

std::string serial_of(const std::string& chain_pem) {
  BIO* bio = BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (x == nullptr) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(x);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// curl prints the serial as colon-separated hex pairs (or plain hex): compare digits only.
std::string hex_digits(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (std::isxdigit(static_cast<unsigned char>(ch))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  while (out.size() > 1 && out[0] == '0') out.erase(0, 1);
  return out;
}

TEST(TlsListenerTest, ServesTheCurrentCertificateFromTheNextHandshakeAndKeepsOpenConnections) {
  seed::testing::TempDir dir;
  acme::InternalCaConfig cc;
  cc.dir = dir.path() + "/ca";
  cc.domain = "seed.test";
  auto ca = acme::InternalCa::open(cc);
  ASSERT_TRUE(ca) << ca.error().describe();
  const std::string root = dir.path() + "/root.pem";
  ASSERT_TRUE(write_file_atomic(root, (*ca)->root_pem()));

  auto routes = [] {
    Router r;
    r.add("GET", "/who", [](const Request& q) {
      Response out;
      out.content_type = "text/plain";
      out.body = q.listener + " " + q.source;
      return out;
    });
    return r;
  };
  uint16_t tls_port = 0, plain_port = 0;
  auto credentials = std::make_shared<TlsCredentials>();
  std::vector<Listener> listeners;
  listeners.push_back({"public-tls", testing::listen_loopback(&tls_port), routes(), credentials});
  listeners.push_back({"public", testing::listen_loopback(&plain_port), routes(), nullptr});
  auto server = HttpServer::start(std::move(listeners), HttpLimits{});
  ASSERT_TRUE(server) << server.error().describe();

  // No certificate yet: the handshake fails.
  {
    Client before(root, tls_port);
    EXPECT_NE(before.get("/who").result, CURLE_OK);
  }
  EXPECT_FALSE(credentials->ready());
  EXPECT_FALSE(credentials->set("not a certificate", "nor a key"));

  const Pair a = issue(**ca, "silo.seed.test");
  ASSERT_TRUE(credentials->set(a.chain, a.key));
  Client open(root, tls_port);
  auto first = open.get("/who");
  ASSERT_EQ(first.result, CURLE_OK) << curl_easy_strerror(first.result);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "public-tls 127.0.0.2");
  EXPECT_EQ(hex_digits(first.serial), hex_digits(serial_of(a.chain)));

  // Swap: the connection opened before goes on (no new connection, same certificate); a new
  // one gets the new certificate.
  const Pair b = issue(**ca, "silo.seed.test");
  ASSERT_NE(serial_of(a.chain), serial_of(b.chain));
  ASSERT_TRUE(credentials->set(b.chain, b.key));
  auto kept = open.get("/who");
  ASSERT_EQ(kept.result, CURLE_OK) << curl_easy_strerror(kept.result);
  EXPECT_EQ(kept.status, 200);
  EXPECT_EQ(kept.new_connections, 0) << "the keep-alive connection was dropped by the swap";
  Client fresh(root, tls_port);
  auto second = fresh.get("/who");
  ASSERT_EQ(second.result, CURLE_OK) << curl_easy_strerror(second.result);
  EXPECT_EQ(hex_digits(second.serial), hex_digits(serial_of(b.chain)));
}

}  // namespace
}  // namespace seed::api::tls
