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
#include "api/testing/tls_client.hpp"
#include "api/tls/tls_credentials.hpp"
#include "common/fd.hpp"
#include "common/testing/temp_dir.hpp"

namespace seed::api::tls {
namespace {

using api::testing::leaf_serial;
using Client = api::testing::TlsClient;

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
    Client before(root, "silo.seed.test", tls_port, "127.0.0.2");
    EXPECT_NE(before.get("/who").result, CURLE_OK);
  }
  EXPECT_FALSE(credentials->ready());
  EXPECT_FALSE(credentials->set("not a certificate", "nor a key"));

  const Pair a = issue(**ca, "silo.seed.test");
  ASSERT_TRUE(credentials->set(a.chain, a.key));
  Client open(root, "silo.seed.test", tls_port, "127.0.0.2");
  auto first = open.get("/who");
  ASSERT_EQ(first.result, CURLE_OK) << curl_easy_strerror(first.result);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "public-tls 127.0.0.2");
  EXPECT_FALSE(first.serial.empty());
  EXPECT_EQ(first.serial, leaf_serial(a.chain));

  // Swap: the connection opened before goes on (no new connection, same certificate); a new
  // one gets the new certificate.
  const Pair b = issue(**ca, "silo.seed.test");
  ASSERT_NE(leaf_serial(a.chain), leaf_serial(b.chain));
  ASSERT_TRUE(credentials->set(b.chain, b.key));
  auto kept = open.get("/who");
  ASSERT_EQ(kept.result, CURLE_OK) << curl_easy_strerror(kept.result);
  EXPECT_EQ(kept.status, 200);
  EXPECT_EQ(kept.new_connections, 0) << "the keep-alive connection was dropped by the swap";
  Client fresh(root, "silo.seed.test", tls_port, "127.0.0.2");
  auto second = fresh.get("/who");
  ASSERT_EQ(second.result, CURLE_OK) << curl_easy_strerror(second.result);
  EXPECT_EQ(second.serial, leaf_serial(b.chain));
}

}  // namespace
}  // namespace seed::api::tls
