#include "net/dns/zone_store.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace seed::net::dns {

namespace {
constexpr std::string_view acme_label = "_acme-challenge";
constexpr size_t max_caa_value = 1024;
}

std::vector<CaaRecord> caa_for_account(std::string_view issuer_domain, std::string_view account_uri) {
  std::string issue(issuer_domain);
  if (!account_uri.empty()) issue += "; accounturi=" + std::string(account_uri);
  // ";" names no CA: nobody may issue wildcards for the zone (RFC 8659 §4.3).
  return {{0, "issue", std::move(issue)}, {0, "issuewild", ";"}};
}

Result<std::unique_ptr<ZoneStore>> ZoneStore::create(ZoneConfig config, AcmeLimits limits) {
  std::unique_ptr<ZoneStore> store(new ZoneStore(std::move(config), limits));
  SEED_TRY(store->replace({}));
  store->acme_.store(std::make_shared<const AcmeRecords>());
  return store;
}

Status ZoneStore::replace(const std::vector<InstanceAddress>& instances) {
  std::lock_guard lock(write_mu_);
  // Serial: seconds since the epoch, but always increasing even for several changes a second.
  uint32_t serial = std::max<uint32_t>(serial_ + 1, uint32_t(std::time(nullptr)));
  auto zone = SEED_TRY(Zone::build(config_, instances, serial));
  serial_ = serial;
  zone_.store(std::move(zone));
  return ok();
}

Result<std::string> ZoneStore::challenge_key(std::string_view record_name) const {
  auto name = Name::from_text(record_name);
  if (!name) return std::move(name).error().with("in", "acme challenge record name");
  auto zone = zone_.load();
  if (name->first_label() != acme_label || !name->is_at_or_below(zone->apex()) ||
      name->parent() == Name()) {
    return make_error(Errc::invalid_argument,
                      "ACME challenge records must be named _acme-challenge.<name in the zone>")
        .with("name", std::string(record_name))
        .with("zone", zone->apex().to_text())
        .with("stage", "runtime");
  }
  return name->key();
}

void ZoneStore::publish_acme(KeyMap<std::vector<std::string>> txt, std::vector<CaaRecord> caa) {
  auto zone = zone_.load();
  auto next = std::make_shared<AcmeRecords>();
  for (const auto& [key, values] : txt) {
    // Every ancestor between the owner and the apex exists (NODATA, not NXDOMAIN).
    Name owner = Name::from_wire_unchecked(
        {reinterpret_cast<const uint8_t*>(key.data()), key.size()});
    for (Name p = owner.parent(); !(p == zone->apex()) && p.is_at_or_below(zone->apex());
         p = p.parent()) {
      next->ancestors.try_emplace(p.key(), 0);
    }
  }
  next->txt = std::move(txt);
  next->caa = std::move(caa);
  acme_.store(std::move(next));
}

Status ZoneStore::set_acme_challenge(std::string_view record_name, std::string value) {
  std::string key = SEED_TRY(challenge_key(record_name));
  if (value.empty() || value.size() > limits_.max_value_size) {
    return make_error(Errc::invalid_argument, "ACME challenge value is empty or too long")
        .with("name", std::string(record_name))
        .with("size", std::to_string(value.size()))
        .with("max", std::to_string(limits_.max_value_size));
  }
  std::lock_guard lock(write_mu_);
  KeyMap<std::vector<std::string>> txt = acme_.load()->txt;
  auto& values = txt[key];
  if (std::find(values.begin(), values.end(), value) != values.end()) return ok();
  if (values.size() >= limits_.max_values_per_name || txt.size() > limits_.max_names) {
    return make_error(Errc::unavailable, "too many ACME challenge records")
        .with("name", std::string(record_name))
        .with("hint", "clear finished challenges; limits bound the DNS server's memory");
  }
  values.push_back(std::move(value));
  publish_acme(std::move(txt), acme_.load()->caa);
  return ok();
}

Status ZoneStore::clear_acme_challenge(std::string_view record_name,
                                       std::optional<std::string_view> value) {
  std::string key = SEED_TRY(challenge_key(record_name));
  std::lock_guard lock(write_mu_);
  KeyMap<std::vector<std::string>> txt = acme_.load()->txt;
  auto it = txt.find(key);
  if (it == txt.end()) return ok();
  if (value) {
    std::erase(it->second, *value);
    if (it->second.empty()) txt.erase(it);
  } else {
    txt.erase(it);
  }
  publish_acme(std::move(txt), acme_.load()->caa);
  return ok();
}

Status ZoneStore::set_caa(std::vector<CaaRecord> records) {
  for (const auto& r : records) {
    const bool tag_ok = !r.tag.empty() && r.tag.size() <= 15 &&
                        std::all_of(r.tag.begin(), r.tag.end(), [](unsigned char c) { return std::isalnum(c); });
    if (!tag_ok || r.value.size() > max_caa_value) {
      return make_error(Errc::invalid_argument, "a CAA record needs a tag of 1 to 15 letters or digits and a value of at most 1024 bytes")
          .with("tag", r.tag)
          .with("size", std::to_string(r.value.size()))
          .with("stage", "runtime");
    }
  }
  std::lock_guard lock(write_mu_);
  publish_acme(acme_.load()->txt, std::move(records));
  return ok();
}

}  // namespace seed::net::dns
