#include "api/acme/upstream_issuer.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "api/acme/base64url.hpp"
#include "api/acme/jws.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/time_text.hpp"

namespace seed::api::acme {

using json = nlohmann::json;

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(UpstreamOrder, id, names, status, url, finalize_url, authorized, txt,
                                                csr, chain, alternates, problem_type, problem_detail, retry_after,
                                                expires)

namespace {

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string new_id() {
  unsigned char raw[12];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("OpenSSL's RAND_bytes failed");
  return base64url_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
}

// DNS-01 (RFC 8555 §8.4): the TXT value is base64url(SHA-256(token "." thumbprint)).
std::string dns01_value(const std::string& token, const std::string& thumbprint) {
  const std::string key_authorization = token + "." + thumbprint;
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(key_authorization.data(), key_authorization.size(), md, &n, EVP_sha256(), nullptr);
  return base64url_encode(std::string_view(reinterpret_cast<char*>(md), n));
}

// How long to wait before polling again: the CA's Retry-After (RFC 9110 §10.2.3: seconds or an
// HTTP date) within [1 s, 60 s] so a pending order is neither hammered nor forgotten; without
// one, 250 ms doubling with every poll of the order up to 5 s (validations often finish within
// a second; the guest waits for seedd, so the first polls are quick).
std::chrono::milliseconds wait_time(const std::string& retry_after, int polls) {
  using std::chrono::milliseconds;
  if (retry_after.empty()) return milliseconds(std::min<int64_t>(250LL << std::min(polls, 5), 5000));
  int64_t s = 1;
  if (std::all_of(retry_after.begin(), retry_after.end(), ::isdigit)) {
    s = std::stoll(retry_after.substr(0, 9));
  } else if (const time_t at = curl_getdate(retry_after.c_str(), nullptr); at >= 0) {
    s = at - now_s();
  }
  return milliseconds(1000 * std::clamp<int64_t>(s, 1, 60));
}

// The unix time a rate limit resets, from the CA's Retry-After (0 when it said nothing).
int64_t reset_time(const std::string& retry_after) {
  if (retry_after.empty()) return 0;
  if (std::all_of(retry_after.begin(), retry_after.end(), ::isdigit)) return now_s() + std::stoll(retry_after.substr(0, 9));
  const time_t at = curl_getdate(retry_after.c_str(), nullptr);
  return at < 0 ? 0 : at;
}

// The targets of `Link: <…>;rel="alternate"` entries (RFC 8555 §7.4.2).
std::vector<std::string> alternate_links(const std::string& link_header) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = link_header.find('<', at)) != std::string::npos) {
    const size_t close = link_header.find('>', at);
    if (close == std::string::npos) break;
    const size_t next = link_header.find('<', close);
    const std::string params = link_header.substr(close, next == std::string::npos ? std::string::npos : next - close);
    if (params.find("rel=\"alternate\"") != std::string::npos || params.find("rel=alternate") != std::string::npos) {
      out.push_back(link_header.substr(at + 1, close - at - 1));
    }
    at = close;
  }
  return out;
}

// An order the CA never gave an `expires` for lives this long from its start (RFC 8555 leaves
// the lifetime to the CA; Let's Encrypt's is 7 days).
constexpr int64_t kDefaultOrderLifetime = 7 * 86400;
// A finished order stays this long past its expiry for the guest to read, then goes.
constexpr int64_t kKeepFinished = 86400;

// The CA's `expires` (RFC 3339) in unix seconds; 0 when absent or unreadable.
int64_t expires_of(const json& order) {
  auto it = order.find("expires");
  if (it == order.end() || !it->is_string()) return 0;
  const std::string text = it->get<std::string>();
  if (text.find('T') == std::string::npos) return 0;  // parse_since also takes durations
  auto us = parse_since(text, 0);
  return us.ok() ? *us / 1000000 : 0;
}

Error stopped() { return make_error(Errc::unavailable, "seedd is stopping").with("stage", "acme"); }

}  // namespace

Result<std::unique_ptr<UpstreamIssuer>> UpstreamIssuer::open(UpstreamConfig config, ChallengeRecords& records) {
  std::unique_ptr<UpstreamIssuer> u(new UpstreamIssuer(std::move(config), records));
  std::error_code ec;
  std::filesystem::create_directories(u->config_.state_dir, ec);
  const std::string file = u->config_.state_dir + "/orders.json";
  if (std::filesystem::exists(file, ec)) {
    try {
      u->orders_ = json::parse(SEED_TRY(read_file(file))).get<std::map<std::string, UpstreamOrder>>();
    } catch (const json::exception& e) {
      return make_error(Errc::invalid_argument, "the upstream ACME orders file is corrupt: " + std::string(e.what()))
          .with("file", file)
          .with("stage", "acme")
          .with("hint", "move the file away: its orders fail and guests order again");
    }
  }
  // No TXT value outlives the seedd that published it: a resumed order publishes again.
  for (auto& [id, o] : u->orders_) {
    for (const auto& t : o.txt) (void)records.clear_txt(t[0], t[1]);
    o.txt.clear();
    if (o.expires == 0) o.expires = now_s() + kDefaultOrderLifetime;  // a file from before expiry
  }
  {
    std::lock_guard lock(u->mu_);
    (void)u->expire_locked();  // TXT values are gone already
    SEED_TRY(u->save_locked());
    for (const auto& [id, o] : u->orders_) {
      if (o.status == "pending" || o.status == "processing") u->kick(id);
    }
    u->kick("");  // reach the CA now: the account and the CAA record need not wait for an order
  }
  return u;
}

UpstreamIssuer::~UpstreamIssuer() {
  std::map<std::string, std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& [id, t] : threads) t.join();
}

Status UpstreamIssuer::save_locked() {
  return write_file_atomic(config_.state_dir + "/orders.json", json(orders_).dump() + "\n", 0600);
}

bool UpstreamIssuer::wait(std::chrono::milliseconds time) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, time, [&] { return stopping_; });
  return !stopping_;
}

Result<UpstreamClient*> UpstreamIssuer::client() {
  std::lock_guard lock(connect_mu_);
  if (client_) return client_.get();
  client_ = SEED_TRY(UpstreamClient::open(config_));
  // RFC 8657: only this CA, and only seedd's own account at it, may issue for the zone. The
  // CA names its CAA identity in the directory's meta; a CA that does not gets no CAA record.
  const json meta = client_->directory().value("meta", json::object());
  const json ids = meta.is_object() ? meta.value("caaIdentities", json::array()) : json::array();
  if (ids.is_array() && !ids.empty() && ids[0].is_string()) {
    if (auto st = records_.set_caa(ids[0].get<std::string>(), client_->account_url()); !st) {
      log::warn("acme.upstream.caa_failed", {{"error", st.error().describe()}});
    }
  } else {
    log::info("acme.upstream.no_caa", {{"why", "the CA's directory names no caaIdentities"}});
  }
  return client_.get();
}

std::string UpstreamIssuer::account_url() {
  std::lock_guard lock(connect_mu_);
  return client_ ? client_->account_url() : "";
}

void UpstreamIssuer::kick(const std::string& id) {
  // mu_ is held by the caller. A thread marks itself not running as its last locked act and
  // takes mu_ no more after it, so joining a finished one here cannot deadlock.
  if (stopping_ || running_[id]) return;
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (running_[it->first]) {
      ++it;
      continue;
    }
    it->second.join();
    it = threads_.erase(it);
  }
  running_[id] = true;
  threads_[id] = std::thread([this, id] {
    if (!id.empty()) return drive(id);
    if (auto c = client(); !c.ok()) log::warn("acme.upstream.unreachable", {{"error", c.error().describe()}});
    std::lock_guard lock(mu_);
    running_[id] = false;
  });
}

Result<std::string> UpstreamIssuer::start_order(const std::vector<std::string>& names) {
  std::vector<std::vector<std::string>> stale;
  {
    std::lock_guard lock(mu_);
    stale = expire_locked();
  }
  clear_records(stale);
  std::lock_guard lock(mu_);
  if (limited_until_ > now_s()) {
    return acme_error("rateLimited", "the upstream CA limits new orders until " +
                                         std::to_string(limited_until_ - now_s()) + " s from now: " + limited_detail_)
        .with("retry_after", std::to_string(limited_until_ - now_s()));
  }
  UpstreamOrder o;
  o.id = new_id();
  o.names = names;
  o.expires = now_s() + kDefaultOrderLifetime;
  orders_[o.id] = o;
  if (auto st = save_locked(); !st) {
    orders_.erase(o.id);
    return st.error();
  }
  kick(o.id);
  return o.id;
}

IssueState UpstreamIssuer::state(const std::string& handle) {
  std::vector<std::vector<std::string>> stale;
  {
    std::lock_guard lock(mu_);
    stale = expire_locked();
  }
  clear_records(stale);  // the zone store, never under mu_
  std::lock_guard lock(mu_);
  IssueState s;
  auto it = orders_.find(handle);
  if (it == orders_.end()) {
    s.status = "invalid";
    s.problem = IssuerProblem{"serverInternal", "seedd no longer knows this order's upstream side; create a new order", ""};
    return s;
  }
  const UpstreamOrder& o = it->second;
  s.status = o.status;
  s.authorized.insert(o.authorized.begin(), o.authorized.end());
  s.chain = o.chain;
  s.alternates = o.alternates;
  if (o.status == "invalid") s.problem = IssuerProblem{o.problem_type, o.problem_detail, o.retry_after};
  return s;
}

Status UpstreamIssuer::finalize(const std::string& handle, const CsrInfo& csr) {
  std::lock_guard lock(mu_);
  auto it = orders_.find(handle);
  if (it == orders_.end() || it->second.status != "ready") {
    return acme_error("orderNotReady", "the upstream order is not ready for a CSR");
  }
  it->second.csr = base64url_encode(csr.der);
  it->second.status = "processing";
  SEED_TRY(save_locked());
  kick(handle);
  return ok();
}

void UpstreamIssuer::forget(const std::string& handle) {
  std::lock_guard lock(mu_);
  if (running_[handle]) {
    forgotten_.insert(handle);  // its thread still writes it; it drops the order when it ends
    return;
  }
  orders_.erase(handle);
  running_.erase(handle);
  polls_.erase(handle);
  if (auto st = save_locked(); !st) log::warn("acme.upstream.save_failed", {{"error", st.error().describe()}});
}

Status UpstreamIssuer::publish_txt(const std::string& id, const std::string& owner, const std::string& value) {
  {
    // Recorded before it is published, so a crash in between still removes it at the next start.
    std::lock_guard lock(mu_);
    auto& o = orders_.at(id);
    const std::vector<std::string> entry{owner, value};
    if (std::find(o.txt.begin(), o.txt.end(), entry) != o.txt.end()) return ok();
    o.txt.push_back(entry);
    SEED_TRY(save_locked());
  }
  return records_.set_txt(owner, value);
}

void UpstreamIssuer::clear_txt(const std::string& id) {
  std::vector<std::vector<std::string>> txt;
  {
    std::lock_guard lock(mu_);
    txt.swap(orders_.at(id).txt);
  }
  clear_records(txt);
  std::lock_guard lock(mu_);
  (void)save_locked();
}

std::vector<std::vector<std::string>> UpstreamIssuer::expire_locked() {
  const int64_t now = now_s();
  std::vector<std::vector<std::string>> txt;
  bool changed = false;
  for (auto it = orders_.begin(); it != orders_.end();) {
    const std::string id = it->first;
    UpstreamOrder& o = it->second;
    const bool idle = !running_[id] && o.expires > 0;
    if (idle && (o.status == "valid" || o.status == "invalid") && o.expires + kKeepFinished <= now) {
      running_.erase(id);
      polls_.erase(id);
      forgotten_.erase(id);
      it = orders_.erase(it);
      changed = true;
      continue;
    }
    if (idle && o.status != "valid" && o.status != "invalid" && o.expires <= now) {
      txt.insert(txt.end(), o.txt.begin(), o.txt.end());
      o.txt.clear();
      o.status = "invalid";
      o.problem_type = "malformed";
      o.problem_detail = "the order expired at " + format_rfc3339_us(o.expires * 1000000) +
                         " before it was finalized; create a new order";
      o.expires = now;  // kept kKeepFinished from now, so the guest can still read why
      log::info("acme.upstream.order_expired", {{"order", id}});
      changed = true;
    }
    ++it;
  }
  if (changed) {
    if (auto st = save_locked(); !st) log::warn("acme.upstream.save_failed", {{"error", st.error().describe()}});
  }
  return txt;
}

void UpstreamIssuer::clear_records(const std::vector<std::vector<std::string>>& txt) {
  for (const auto& t : txt) {
    if (auto st = records_.clear_txt(t[0], t[1]); !st) log::warn("acme.upstream.txt_left", {{"error", st.error().describe()}});
  }
}

void UpstreamIssuer::fail(const std::string& id, const Error& e) {
  clear_txt(id);
  std::lock_guard lock(mu_);
  auto& o = orders_.at(id);
  o.status = "invalid";
  const auto type = e.get("acme_type");
  o.problem_type = type ? std::string(*type) : "serverInternal";
  o.problem_detail = type ? e.message : "seedd could not obtain the certificate from the upstream CA (" + e.message + ")";
  const auto retry = e.get("retry_after");
  o.retry_after = retry ? std::string(*retry) : "";
  if (o.problem_type == "rateLimited") {
    limited_until_ = std::max(limited_until_, reset_time(o.retry_after));
    limited_detail_ = e.message;
    if (!o.retry_after.empty()) o.problem_detail += " (retry after " + o.retry_after + ")";
  }
  (void)save_locked();
  log::warn("acme.upstream.order_failed", {{"order", id}, {"type", o.problem_type}, {"error", e.describe()}});
}

void UpstreamIssuer::drive(const std::string& id) {
  for (;;) {
    Status st = ok();
    try {
      st = step(id);
    } catch (const json::exception& e) {
      // A CA answer of the wrong shape fails its order, never seedd.
      st = make_error(Errc::unavailable, std::string("the upstream CA's answer has an unexpected shape: ") + e.what())
               .with("stage", "acme");
    }
    bool stop = false;
    {
      std::lock_guard lock(mu_);
      stop = stopping_;  // an unfinished order resumes at the next start
    }
    if (!st && !stop) fail(id, st.error());
    std::lock_guard lock(mu_);
    const auto& o = orders_.at(id);
    if (!st || stop || o.status == "valid" || o.status == "invalid" || (o.status == "ready" && o.csr.empty())) {
      // Decided under mu_: a finalize() that sets the CSR after this starts a new thread.
      running_[id] = false;
      if (forgotten_.erase(id) > 0) {
        orders_.erase(id);
        (void)save_locked();
      }
      return;
    }
  }
}

// One pass: read the upstream order and move it one step on; waits (Retry-After) inside.
Status UpstreamIssuer::step(const std::string& id) {
  UpstreamClient* c = SEED_TRY(client());
  UpstreamOrder o;
  {
    std::lock_guard lock(mu_);
    o = orders_.at(id);
  }
  if (o.url.empty()) {
    json identifiers = json::array();
    for (const auto& n : o.names) identifiers.push_back({{"type", "dns"}, {"value", n}});
    UpstreamReply r = SEED_TRY(c->post(c->directory().value("newOrder", ""), json{{"identifiers", identifiers}}));
    json body = json::parse(r.body, nullptr, false);
    if (r.header("location").empty() || !body.is_object() || !body.contains("finalize")) {
      return make_error(Errc::unavailable, "the upstream CA's newOrder answer has no Location or finalize URL").with("stage", "acme");
    }
    std::lock_guard lock(mu_);
    auto& stored = orders_.at(id);
    stored.url = r.header("location");
    stored.finalize_url = body.value("finalize", "");
    return save_locked();
  }
  UpstreamReply r = SEED_TRY(c->post(o.url, std::nullopt));
  json order = json::parse(r.body, nullptr, false);
  if (!order.is_object()) return make_error(Errc::unavailable, "the upstream order is not JSON").with("url", o.url);
  const std::string status = order.value("status", "");
  int polls = 0;
  int64_t expires = 0;
  {
    std::lock_guard lock(mu_);
    polls = polls_[id]++;
    auto& stored = orders_.at(id);
    if (const int64_t e = expires_of(order); e > 0) stored.expires = e;
    expires = stored.expires;
  }
  if ((status == "pending" || status == "ready") && expires > 0 && expires <= now_s()) {
    // A CA that keeps an expired order pending (or ready) would be polled for ever.
    return acme_error("malformed", "the order expired at " + format_rfc3339_us(expires * 1000000) +
                                       " before it was finalized; create a new order");
  }
  const auto pause = wait_time(r.header("retry-after"), polls);
  if (status == "pending") {
    std::vector<std::string> authorized;
    for (const auto& url : order.value("authorizations", json::array())) {
      UpstreamReply ar = SEED_TRY(c->post(url.get<std::string>(), std::nullopt));
      json authz = json::parse(ar.body, nullptr, false);
      if (!authz.is_object()) return make_error(Errc::unavailable, "an upstream authorization is not JSON").with("url", url);
      const std::string name = authz["identifier"].value("value", "");
      const std::string astatus = authz.value("status", "");
      if (astatus == "valid") {
        authorized.push_back(name);
        continue;
      }
      json dns01;
      for (const auto& ch : authz.value("challenges", json::array())) {
        if (ch.value("type", "") == "dns-01") dns01 = ch;
        if (ch.contains("error") && astatus == "invalid") {
          const json err = ch["error"];
          const std::string prefix = "urn:ietf:params:acme:error:";
          std::string type = err.value("type", "");
          type = type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : "unauthorized";
          return acme_error(type, "the upstream CA did not validate " + name + ": " + err.value("detail", ""));
        }
      }
      if (astatus != "pending") {
        return acme_error("unauthorized", "the upstream CA's authorization for " + name + " is " + astatus);
      }
      if (dns01.is_null()) return acme_error("unauthorized", "the upstream CA offers no dns-01 challenge for " + name);
      SEED_TRY(publish_txt(id, "_acme-challenge." + name, dns01_value(dns01.value("token", ""), c->thumbprint())));
      if (dns01.value("status", "") == "pending") SEED_TRY(c->post(dns01.value("url", ""), json::object()));
    }
    {
      std::lock_guard lock(mu_);
      orders_.at(id).authorized = authorized;
      SEED_TRY(save_locked());
    }
    if (!wait(pause)) return stopped();
    return ok();
  }
  if (status == "ready") {
    clear_txt(id);  // every name is authorized: the challenge records are done with
    std::string csr;
    {
      std::lock_guard lock(mu_);
      auto& stored = orders_.at(id);
      stored.authorized = stored.names;
      if (stored.status == "pending") stored.status = "ready";
      csr = stored.csr;
      SEED_TRY(save_locked());
    }
    if (csr.empty()) return ok();
    SEED_TRY(c->post(o.finalize_url, json{{"csr", csr}}));
    return ok();
  }
  if (status == "processing") {
    if (!wait(pause)) return stopped();
    return ok();
  }
  if (status == "valid") {
    clear_txt(id);
    const std::string cert_url = order.value("certificate", "");
    UpstreamReply cert = SEED_TRY(c->post(cert_url, std::nullopt));
    std::vector<std::string> alternates;
    for (const auto& url : alternate_links(cert.header("link"))) {
      UpstreamReply alt = SEED_TRY(c->post(url, std::nullopt));
      alternates.push_back(alt.body);
    }
    std::lock_guard lock(mu_);
    auto& stored = orders_.at(id);
    stored.chain = cert.body;
    stored.alternates = alternates;
    stored.authorized = stored.names;
    stored.status = "valid";
    log::info("acme.upstream.issued", {{"order", id}, {"names", stored.names.size()}, {"alternates", alternates.size()}});
    return save_locked();
  }
  // invalid (or anything unknown): the CA's own problem, from the order or an authorization.
  const json err = order.value("error", json::object());
  std::string type = err.is_object() ? err.value("type", "") : "";
  const std::string prefix = "urn:ietf:params:acme:error:";
  type = type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : "unauthorized";
  const std::string detail = err.is_object() ? err.value("detail", "") : "";
  return acme_error(type, "the upstream CA's order is " + status + (detail.empty() ? "" : ": " + detail));
}

}  // namespace seed::api::acme
