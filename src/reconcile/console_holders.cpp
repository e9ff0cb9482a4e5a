#include "reconcile/console_holders.hpp"

#include "common/time_text.hpp"

namespace seed::reconcile {

Status ConsoleHolders::take(const InstanceId& id, const std::string& fingerprint, int64_t now_us) {
  std::lock_guard l(mu_);
  auto [it, inserted] = held_.try_emplace(id, Holder{fingerprint, now_us});
  if (inserted) return ok();
  // Seconds are enough to recognise one's own forgotten session.
  std::string since = format_rfc3339_us(it->second.since_us);
  since = since.substr(0, since.find('.')) + "Z";
  return make_error(Errc::in_use, "console of " + id.name + " is in use by key " + it->second.fingerprint +
                                      " since " + since)
      .with("instance", id.name)
      .with("stage", "console")
      .with("hint", "one console per instance at a time: end that session (~. in its ssh) or wait for it");
}

void ConsoleHolders::release(const InstanceId& id) {
  std::lock_guard l(mu_);
  held_.erase(id);
}

}  // namespace seed::reconcile
