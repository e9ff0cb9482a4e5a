// JWS decoding and verification against keys made by OpenSSL here, signed the way ACME
// clients sign (RFC 7515/8555), plus RFC 7638's own thumbprint example. The real clients
// (lego, certbot, caddy) exercise the same code end to end in the facade's tests.
#include "api/acme/jws.hpp"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/acme/base64url.hpp"

namespace seed::api::acme {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

std::string b64(std::string_view s) { return base64url_encode(s); }

std::string bn_bytes(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, name, &bn);
  std::string out(size_t(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

std::string padded(std::string s, size_t width) { return std::string(width - s.size(), '\0') + s; }

struct TestKey {
  PublicKey key;  // holds the private part too
  json jwk;
  std::string alg;
};

TestKey make_key(const std::string& alg) {
  TestKey k;
  k.alg = alg;
  if (alg == "RS256") {
    k.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    k.jwk = {{"kty", "RSA"}, {"n", b64(bn_bytes(k.key.get(), OSSL_PKEY_PARAM_RSA_N))},
             {"e", b64(bn_bytes(k.key.get(), OSSL_PKEY_PARAM_RSA_E))}};
  } else if (alg == "ES256" || alg == "ES384") {
    const bool p256 = alg == "ES256";
    k.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", p256 ? "P-256" : "P-384"));
    const size_t w = p256 ? 32 : 48;
    k.jwk = {{"kty", "EC"}, {"crv", p256 ? "P-256" : "P-384"},
             {"x", b64(padded(bn_bytes(k.key.get(), OSSL_PKEY_PARAM_EC_PUB_X), w))},
             {"y", b64(padded(bn_bytes(k.key.get(), OSSL_PKEY_PARAM_EC_PUB_Y), w))}};
  } else {
    k.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    unsigned char raw[32];
    size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(k.key.get(), raw, &len);
    k.jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", b64(std::string(reinterpret_cast<char*>(raw), len))}};
  }
  return k;
}

std::string sign(const TestKey& k, const std::string& input) {
  const EVP_MD* md = k.alg == "RS256" || k.alg == "ES256" ? EVP_sha256() : k.alg == "ES384" ? EVP_sha384() : nullptr;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, md, nullptr, k.key.get());
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (k.alg == "ES256" || k.alg == "ES384") {  // DER → r || s
    const size_t w = k.alg == "ES256" ? 32 : 48;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
    std::string r(w, '\0'), ss(w, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(s), reinterpret_cast<unsigned char*>(r.data()), int(w));
    BN_bn2binpad(ECDSA_SIG_get0_s(s), reinterpret_cast<unsigned char*>(ss.data()), int(w));
    ECDSA_SIG_free(s);
    return r + ss;
  }
  return sig;
}

std::string envelope(const TestKey& k, json header, const std::string& payload) {
  header["alg"] = k.alg;
  const std::string p = b64(header.dump()), body = b64(payload);
  return json{{"protected", p}, {"payload", body}, {"signature", b64(sign(k, p + "." + body))}}.dump();
}

json header_with_jwk(const TestKey& k) {
  return {{"nonce", "n0nce"}, {"url", "http://10.100.0.1:8555/acme/new-account"}, {"jwk", k.jwk}};
}

class JwsPerAlgorithm : public ::testing::TestWithParam<std::string> {};

TEST_P(JwsPerAlgorithm, ASignedRequestVerifiesAndATamperedOneDoesNot) {
  TestKey k = make_key(GetParam());
  auto jws = parse_jws(envelope(k, header_with_jwk(k), R"({"termsOfServiceAgreed":true})"));
  ASSERT_TRUE(jws.ok()) << jws.error().describe();
  EXPECT_EQ(jws->alg, GetParam());
  EXPECT_EQ(jws->nonce, "n0nce");
  EXPECT_EQ(jws->url, "http://10.100.0.1:8555/acme/new-account");
  EXPECT_EQ(jws->payload, R"({"termsOfServiceAgreed":true})");
  EXPECT_FALSE(jws->post_as_get);
  auto key = public_key_from_jwk(*jws->jwk);
  ASSERT_TRUE(key.ok()) << key.error().describe();
  EXPECT_TRUE(verify_jws(*jws, key->get()).ok());

  Jws tampered = *jws;
  tampered.signing_input += "x";
  auto bad = verify_jws(tampered, key->get());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().get("acme_type"), "malformed");
  EXPECT_THAT(bad.error().message, HasSubstr("does not verify"));

  // Another key of the same type does not verify it either.
  TestKey other = make_key(GetParam());
  auto other_key = public_key_from_jwk(other.jwk);
  ASSERT_TRUE(other_key.ok());
  EXPECT_FALSE(verify_jws(*jws, other_key->get()).ok());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, JwsPerAlgorithm, ::testing::Values("RS256", "ES256", "ES384", "EdDSA"));

TEST(Jws, PostAsGetHasAnEmptyPayloadAndAKid) {
  TestKey k = make_key("ES256");
  json h = {{"nonce", "n"}, {"url", "http://x/acme/order/1"}, {"kid", "http://x/acme/acct/abc"}};
  auto jws = parse_jws(envelope(k, h, ""));
  ASSERT_TRUE(jws.ok()) << jws.error().describe();
  EXPECT_TRUE(jws->post_as_get);
  EXPECT_EQ(jws->kid, "http://x/acme/acct/abc");
  EXPECT_FALSE(jws->jwk.has_value());
}

TEST(Jws, AnAlgorithmThatDoesNotFitTheKeyIsRefused) {
  TestKey ec = make_key("ES256");
  TestKey rsa = make_key("RS256");
  auto jws = parse_jws(envelope(ec, header_with_jwk(ec), "{}"));
  ASSERT_TRUE(jws.ok());
  auto rsa_key = public_key_from_jwk(rsa.jwk);
  ASSERT_TRUE(rsa_key.ok());
  auto st = verify_jws(*jws, rsa_key->get());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().get("acme_type"), "badSignatureAlgorithm");
}

Error parse_error(const std::string& body) {
  auto r = parse_jws(body);
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? Error{} : r.error();
}

TEST(Jws, MalformedEnvelopesEachGetOneClearError) {
  TestKey k = make_key("ES256");
  const std::string good = envelope(k, header_with_jwk(k), "{}");
  json g = json::parse(good);
  struct Case {
    std::string body, type, says;
  };
  auto with = [&](const char* key, json value) {
    json e = g;
    e[key] = std::move(value);
    return e.dump();
  };
  auto header = [&](json h) {
    json e = g;
    e["protected"] = b64(h.dump());
    return e.dump();
  };
  json no_nonce = header_with_jwk(k);
  no_nonce.erase("nonce");
  no_nonce["alg"] = "ES256";
  json no_url = header_with_jwk(k);
  no_url.erase("url");
  no_url["alg"] = "ES256";
  json both = header_with_jwk(k);
  both["kid"] = "http://x/acct/1";
  both["alg"] = "ES256";
  json none_alg = header_with_jwk(k);
  none_alg["alg"] = "none";
  json hs = header_with_jwk(k);
  hs["alg"] = "HS256";
  json private_jwk = header_with_jwk(k);
  private_jwk["jwk"]["d"] = "AAAA";
  private_jwk["alg"] = "ES256";
  const std::vector<Case> cases = {
      {"not json", "malformed", "not a JSON object"},
      {"[]", "malformed", "not a JSON object"},
      {with("header", json::object()), "malformed", "\"header\""},
      {with("payload", 5), "malformed", "must be a string"},
      {with("protected", "!!!"), "malformed", "not base64url"},
      {with("protected", b64("[1]")), "malformed", "not a JSON object"},
      {with("signature", ""), "malformed", "signature"},
      {with("payload", "a="), "malformed", "payload is not base64url"},
      {header(no_nonce), "badNonce", "newNonce"},
      {header(no_url), "malformed", "\"url\""},
      {header(both), "malformed", "exactly one"},
      {header(none_alg), "badSignatureAlgorithm", "\"none\""},
      {header(hs), "badSignatureAlgorithm", "HS256"},
      {header(private_jwk), "badPublicKey", "private key"},
  };
  for (const auto& c : cases) {
    Error e = parse_error(c.body);
    EXPECT_EQ(e.get("acme_type"), c.type) << c.body;
    EXPECT_THAT(e.message, HasSubstr(c.says)) << c.body;
  }
}

TEST(Jws, WeakOrUnsupportedKeysAreRefused) {
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024});
  json rsa1024 = {{"kty", "RSA"}, {"n", b64(bn_bytes(small, OSSL_PKEY_PARAM_RSA_N))}, {"e", "AQAB"}};
  EVP_PKEY_free(small);
  auto r = public_key_from_jwk(rsa1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().get("acme_type"), "badPublicKey");
  EXPECT_THAT(r.error().message, HasSubstr("2048"));
  TestKey ec = make_key("ES256");
  json off_curve = ec.jwk;
  off_curve["y"] = b64(std::string(32, '\x01'));
  EXPECT_FALSE(public_key_from_jwk(off_curve).ok());
  EXPECT_FALSE(public_key_from_jwk({{"kty", "EC"}, {"crv", "P-521"}, {"x", "AA"}, {"y", "AA"}}).ok());
  EXPECT_FALSE(public_key_from_jwk({{"kty", "oct"}, {"k", "AAAA"}}).ok());
  EXPECT_FALSE(public_key_from_jwk({{"kty", "OKP"}, {"crv", "X25519"}, {"x", b64(std::string(32, 'a'))}}).ok());
}

// RFC 7638 §3.1's example key and its thumbprint.
TEST(Jws, ThumbprintMatchesRfc7638) {
  json jwk = json::parse(R"({"kty":"RSA",
    "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e":"AQAB","alg":"RS256","kid":"2011-04-29"})");
  auto t = jwk_thumbprint(jwk);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_TRUE(public_key_from_jwk(jwk).ok());
}

TEST(Base64url, RoundTripsAndRefusesNonCanonicalText) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\xff\xfe\x00", 3)}) {
    EXPECT_EQ(base64url_decode(base64url_encode(s)), s);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64url_decode("Zm9v=").has_value());  // padding
  EXPECT_FALSE(base64url_decode("Zm+v").has_value());   // standard alphabet
  EXPECT_FALSE(base64url_decode("Zh").has_value());     // non-zero trailing bits
  EXPECT_FALSE(base64url_decode("Z").has_value());      // impossible length
  EXPECT_FALSE(base64url_decode("Zm 9v").has_value());
}

}  // namespace
}  // namespace seed::api::acme
