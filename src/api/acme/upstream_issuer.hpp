// ACME mode's Issuer: each guest order becomes one upstream order, driven on its own thread
// from the guest's newOrder on (newOrder → authorizations → DNS-01 TXT through the DNS
// server's ACME record interface → respond → poll with Retry-After → finalize with the guest's
// CSR unchanged → download the chain and its alternates). The facade only reads where an
// order stands, so no network call ever runs under the facade's lock.
//
// Crash safety: every step's outcome is written (atomic rename) to upstream/orders.json before
// the next begins, including each TXT value before it is published. On start every recorded
// TXT value is removed (nothing outlives a crashed seedd) and unfinished orders resume from
// the upstream order's own state; one the CA no longer knows fails with a problem saying so.
//
// Expiry: an order past its `expires` that no thread drives (typically `ready`, the guest never
// finalized) turns invalid ("expired … create a new order") and loses any TXT value left; a
// finished (valid or invalid) order is dropped from orders.json a day after it expired, whether
// or not the facade forgot it. Checked at start, on every newOrder and on every state().
//
// Rate limits: a rateLimited answer fails that order with the CA's reset time, and new orders
// are refused with rateLimited (and Retry-After) until then, without asking the CA again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/acme/challenge_records.hpp"
#include "api/acme/issuer.hpp"
#include "api/acme/upstream_client.hpp"

namespace seed::api::acme {

// One upstream order as persisted.
struct UpstreamOrder {
  std::string id;
  std::vector<std::string> names;
  std::string status = "pending";  // pending | ready | processing | valid | invalid (IssueState)
  std::string url, finalize_url;   // upstream, once newOrder answered
  std::vector<std::string> authorized;
  std::vector<std::vector<std::string>> txt;  // [owner, value] published for this order
  std::string csr;                            // base64url DER, from finalize
  std::string chain;
  std::vector<std::string> alternates;
  std::string problem_type, problem_detail, retry_after;
  // Unix seconds: the CA's `expires` for the order once known, 7 days from its start before.
  int64_t expires = 0;
};

class UpstreamIssuer final : public Issuer {
 public:
  // Loads the state in config.state_dir, removes leftover TXT values and resumes unfinished
  // orders. The upstream account is reached in the background (a CA that is down at seedd's
  // start fails orders, not seedd); once known, the apex CAA names it (RFC 8657).
  static Result<std::unique_ptr<UpstreamIssuer>> open(UpstreamConfig config, ChallengeRecords& records);
  ~UpstreamIssuer() override;  // stops and joins every order thread (upstream calls time out)

  Result<std::string> start_order(const std::vector<std::string>& names) override;
  IssueState state(const std::string& handle) override;
  Status finalize(const std::string& handle, const CsrInfo& csr) override;
  void forget(const std::string& handle) override;

  // The upstream account's URL, "" until the CA has been reached.
  std::string account_url();

 private:
  UpstreamIssuer(UpstreamConfig config, ChallengeRecords& records) : config_(std::move(config)), records_(records) {}
  Result<UpstreamClient*> client();
  void kick(const std::string& id);  // starts the order's thread unless it runs
  void drive(const std::string& id);
  Status step(const std::string& id);  // one pass over the upstream order; ok() while it goes on
  Status publish_txt(const std::string& id, const std::string& owner, const std::string& value);
  void clear_txt(const std::string& id);
  void fail(const std::string& id, const Error& e);
  // The expiry rules above for orders no thread drives; returns the TXT values the caller
  // removes once it has released mu_ (held when this is called).
  std::vector<std::vector<std::string>> expire_locked();
  void clear_records(const std::vector<std::vector<std::string>>& txt);
  Status save_locked();
  bool wait(std::chrono::milliseconds time);  // false once stopping
  std::map<std::string, int> polls_;  // per order in this process: the no-Retry-After backoff

  UpstreamConfig config_;
  ChallengeRecords& records_;
  std::mutex connect_mu_;  // held while reaching the CA (network), never with mu_
  std::unique_ptr<UpstreamClient> client_;
  std::mutex mu_;  // orders_, threads_, limits; never held across a network call
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, UpstreamOrder> orders_;
  std::map<std::string, std::thread> threads_;
  std::map<std::string, bool> running_;
  std::set<std::string> forgotten_;  // forgotten while their thread ran
  int64_t limited_until_ = 0;  // unix seconds: new orders refused before this
  std::string limited_detail_;
};

}  // namespace seed::api::acme
