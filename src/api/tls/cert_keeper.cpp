#include "api/tls/cert_keeper.hpp"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>

#include "api/acme/csr.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

namespace seed::api::tls {
namespace {

struct BioDel { void operator()(BIO* b) const { BIO_free(b); } };
struct X509Del { void operator()(X509* x) const { X509_free(x); } };
struct KeyDel { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
using BioPtr = std::unique_ptr<BIO, BioDel>;
using X509Ptr = std::unique_ptr<X509, X509Del>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDel>;

X509Ptr read_leaf(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

KeyPtr read_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return KeyPtr(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

std::time_t to_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return ::timegm(&tm);
}

std::string key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

}  // namespace

Result<CertDates> leaf_dates(const std::string& chain_pem) {
  X509Ptr leaf = read_leaf(chain_pem);
  if (!leaf) return make_error(Errc::invalid_argument, "no PEM certificate in the chain");
  return CertDates{to_time(X509_get0_notBefore(leaf.get())), to_time(X509_get0_notAfter(leaf.get()))};
}

Result<std::unique_ptr<CertKeeper>> CertKeeper::start(CertKeeperConfig config, acme::Issuer& issuer,
                                                      CertificateSink sink) {
  std::error_code ec;
  std::filesystem::create_directories(config.dir, ec);
  if (ec) {
    return make_error(Errc::io, "cannot create " + config.dir + " for seedd's own certificate (" + ec.message() + ")")
        .with("stage", "start")
        .with("hint", "check that seedd's state directory is writable by root");
  }
  std::filesystem::permissions(config.dir, std::filesystem::perms::owner_all, ec);
  std::unique_ptr<CertKeeper> keeper(new CertKeeper(std::move(config), issuer, std::move(sink)));
  keeper->load_stored();
  keeper->thread_ = std::thread([k = keeper.get()] { k->run(); });
  return keeper;
}

CertKeeper::~CertKeeper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<CertDates> CertKeeper::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

// The pair on disk is taken only whole and usable: the key matches the leaf (a crash between
// writing key.pem and cert.pem leaves a pair that does not, and is replaced), the leaf names
// every configured name, it has not expired, and it comes from the configured CA.
bool CertKeeper::load_stored() {
  auto chain = read_file(cert_path());
  auto key = read_file(key_path());
  if (!chain || !key) return false;
  auto issuer = read_file(issuer_path());
  X509Ptr leaf = read_leaf(*chain);
  KeyPtr pkey = read_key(*key);
  const char* why = nullptr;
  if (!issuer || *issuer != config_.issuer_id + "\n") {
    why = "it comes from another CA than the one configured";
  } else if (!leaf || !pkey) {
    why = "unreadable";
  } else if (X509_check_private_key(leaf.get(), pkey.get()) != 1) {
    why = "the key does not match the certificate";
  } else {
    for (const auto& name : config_.names) {
      if (X509_check_host(leaf.get(), name.c_str(), name.size(), 0, nullptr) != 1) why = "a name is missing";
    }
  }
  auto dates = leaf_dates(*chain);
  if (why == nullptr && (!dates || dates->not_after <= std::time(nullptr))) why = "expired";
  if (why != nullptr) {
    log::info("tls.stored_certificate.unused", {{"file", cert_path()}, {"why", why}});
    return false;
  }
  sink_(*chain, *key);
  std::lock_guard lock(mu_);
  current_ = *dates;
  log::info("tls.certificate.loaded", {{"names", joined(config_.names)}, {"not_after", std::to_string(dates->not_after)}});
  return true;
}

Result<std::string> CertKeeper::run_order(const std::string& csr_der) {
  auto csr = SEED_TRY(acme::check_csr(csr_der));
  const std::string handle = SEED_TRY(issuer_.start_order(config_.names));
  const auto deadline = std::chrono::steady_clock::now() + config_.order_timeout;
  bool finalized = false;
  Result<std::string> out = make_error(Errc::timeout, "the order for seedd's own certificate did not complete in time");
  while (std::chrono::steady_clock::now() < deadline) {
    acme::IssueState st = issuer_.state(handle);
    if (st.status == "valid") {
      out = st.chain;
      break;
    }
    if (st.status == "invalid") {
      out = make_error(Errc::unavailable, "the CA refused seedd's own certificate: " +
                                              (st.problem ? st.problem->type + ": " + st.problem->detail : "no reason given"));
      break;
    }
    if (st.status == "ready" && !finalized) {
      if (auto s = issuer_.finalize(handle, csr); !s) {
        out = std::move(s).error();
        break;
      }
      finalized = true;
      continue;
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, config_.poll, [this] { return stopping_; })) {
      out = make_error(Errc::unavailable, "seedd is stopping");
      break;
    }
  }
  issuer_.forget(handle);
  return out;
}

Status CertKeeper::obtain() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return make_error(Errc::internal, "cannot make a P-256 key for seedd's own certificate");
  std::vector<std::string> sans;
  for (const auto& n : config_.names) sans.push_back("DNS:" + n);
  const std::string chain = SEED_TRY(run_order(acme::make_csr(key.get(), sans, config_.names.front())));
  auto dates = SEED_TRY(leaf_dates(chain));
  const std::string pem = key_pem(key.get());
  // Key first, then the chain: a crash between the two leaves a pair load_stored() refuses.
  SEED_TRY(write_file_atomic(key_path(), pem, 0600));
  SEED_TRY(write_file_atomic(issuer_path(), config_.issuer_id + "\n", 0600));
  SEED_TRY(write_file_atomic(cert_path(), chain, 0600));
  sink_(chain, pem);
  std::lock_guard lock(mu_);
  current_ = dates;
  log::info("tls.certificate.obtained", {{"names", joined(config_.names)},
                                         {"not_before", std::to_string(dates.not_before)},
                                         {"not_after", std::to_string(dates.not_after)}});
  return ok();
}

bool CertKeeper::wait_until(std::chrono::system_clock::time_point when) {
  std::unique_lock lock(mu_);
  return !cv_.wait_until(lock, when, [this] { return stopping_; });
}

void CertKeeper::run() {
  auto backoff = config_.first_backoff;
  // A certificate whose 2/3 point has already passed when it arrives is still kept
  // min_renewal_interval long (config): no tight loop.
  auto earliest = std::chrono::system_clock::now();
  for (;;) {
    std::optional<CertDates> now_served = current();
    const auto renew = now_served ? std::max(earliest, std::chrono::system_clock::from_time_t(now_served->renew_at()))
                                  : std::chrono::system_clock::now();
    if (!wait_until(renew)) return;
    if (auto s = obtain(); s) {
      backoff = config_.first_backoff;
      earliest = std::chrono::system_clock::now() + config_.min_renewal_interval;
      continue;
    } else {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      log::warn("tls.certificate.failed", {{"names", joined(config_.names)},
                                           {"error", s.error().describe()},
                                           {"retry_in_s", std::to_string(backoff.count())}});
    }
    if (!wait_until(std::chrono::system_clock::now() + backoff)) return;
    backoff = std::min(backoff * 2, config_.max_backoff);
  }
}

}  // namespace seed::api::tls
