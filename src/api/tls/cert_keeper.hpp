// seedd's own certificate (silo.<domain>, hooks.<domain>): obtained through the same Issuer as
// the guests' (the internal CA in facade mode, the upstream CA in ACME mode, DNS-01 answered
// by seedd's zone), kept in `dir` as cert.pem and key.pem (0600, written atomically), reused
// across restarts while it is valid for the names and from the same CA, and renewed at 2/3 of its lifetime, with
// backoff after a failure. Each certificate it gets (or loads) goes to `on_certificate`, which
// swaps the one served (TlsCredentials::set). A failure only delays HTTPS: plain HTTP never
// depends on it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/acme/issuer.hpp"
#include "common/error.hpp"

namespace seed::api::tls {

struct CertKeeperConfig {
  std::string dir;                 // cert.pem (chain, leaf first) and key.pem live here
  std::vector<std::string> names;  // the DNS names the certificate must cover
  // Which CA the certificate must come from ("internal", "acme <directory>"), kept beside it
  // (issuer.txt): a stored certificate from another one (the owner switched acme.upstream or
  // the directory) is replaced at start, not served until its renewal.
  std::string issuer_id;
  std::chrono::seconds first_backoff{30};  // after a failed attempt; doubles up to max_backoff
  std::chrono::seconds max_backoff{3600};
  // A certificate is kept at least this long even if its 2/3 point has passed already (a CA
  // that backdates notBefore by more than the lifetime allows): never a tight renewal loop.
  std::chrono::seconds min_renewal_interval{60};
  std::chrono::milliseconds poll{250};        // how often a pending order is looked at
  std::chrono::seconds order_timeout{600};   // an order not valid by then is given up (and retried)
};

// What a certificate says about itself.
struct CertDates {
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  // 2/3 of the way from not_before to not_after: when a renewal starts.
  std::time_t renew_at() const { return not_before + (not_after - not_before) * 2 / 3; }
};

// The leaf's (first certificate's) validity, or an error if the PEM holds no certificate.
Result<CertDates> leaf_dates(const std::string& chain_pem);

using CertificateSink = std::function<void(const std::string& chain_pem, const std::string& key_pem)>;

class CertKeeper {
 public:
  // Loads a stored certificate that covers the names, matches its key and has not expired
  // (handing it to `sink` before returning), then starts the thread that obtains the first
  // one or renews it. Errors only for a directory it cannot create.
  static Result<std::unique_ptr<CertKeeper>> start(CertKeeperConfig config, acme::Issuer& issuer,
                                                   CertificateSink sink);
  ~CertKeeper();  // stops the thread (an order under way is abandoned)
  CertKeeper(const CertKeeper&) = delete;
  CertKeeper& operator=(const CertKeeper&) = delete;

  // The dates of the certificate served now; nullopt before the first one.
  std::optional<CertDates> current() const;
  std::string cert_path() const { return config_.dir + "/cert.pem"; }
  std::string key_path() const { return config_.dir + "/key.pem"; }
  std::string issuer_path() const { return config_.dir + "/issuer.txt"; }

 private:
  CertKeeper(CertKeeperConfig config, acme::Issuer& issuer, CertificateSink sink)
      : config_(std::move(config)), issuer_(issuer), sink_(std::move(sink)) {}
  bool load_stored();          // true when the stored pair was taken
  Status obtain();             // one order through the issuer; stores and hands it over
  Result<std::string> run_order(const std::string& csr_der);
  void run();                  // the thread
  bool wait_until(std::chrono::system_clock::time_point when);  // false when stopping

  CertKeeperConfig config_;
  acme::Issuer& issuer_;
  CertificateSink sink_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::optional<CertDates> current_;
  std::thread thread_;
};

}  // namespace seed::api::tls
