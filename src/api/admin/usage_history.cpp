#include "api/admin/usage_history.hpp"

#include <set>

#include "common/log.hpp"

namespace seed::api::admin {

void UsageHistory::add(int64_t now_ms, const std::vector<reconcile::InstanceUsage>& usage) {
  std::lock_guard lock(mu_);
  std::set<std::string> present;
  for (const auto& u : usage) {
    const std::string key = u.id.str();
    present.insert(key);
    Series& s = series_[key];
    s.source = u.source;
    s.volumes = u.volumes;
    UsagePoint p{now_ms, 0, u.memory_bytes};
    // A VMM that restarted has less CPU time than before: start its rate afresh.
    if (s.last_cpu_seconds >= 0 && u.cpu_seconds >= s.last_cpu_seconds && now_ms > s.last_ms) {
      p.cpu_percent = 100.0 * (u.cpu_seconds - s.last_cpu_seconds) / ((now_ms - s.last_ms) / 1000.0);
    }
    s.last_cpu_seconds = u.cpu_seconds;
    s.last_ms = now_ms;
    s.points.push_back(p);
    while (s.points.size() > points_) s.points.pop_front();
  }
  std::erase_if(series_, [&](const auto& kv) { return present.count(kv.first) == 0; });
}

nlohmann::json UsageHistory::to_json() const {
  std::lock_guard lock(mu_);
  nlohmann::json instances = nlohmann::json::object();
  for (const auto& [name, s] : series_) {
    nlohmann::json points = nlohmann::json::array();
    for (const auto& p : s.points) points.push_back({p.at_ms, p.cpu_percent, p.memory_bytes});
    nlohmann::json volumes = nlohmann::json::array();
    for (const auto& v : s.volumes) {
      volumes.push_back({{"name", v.name}, {"size_bytes", v.size_bytes}, {"used_bytes", v.used_bytes}});
    }
    instances[name] = {{"source", s.source}, {"points", std::move(points)}, {"volumes", std::move(volumes)}};
  }
  return {{"interval_s", interval_.count()}, {"instances", std::move(instances)}};
}

void UsageHistory::start(reconcile::Service& service, std::chrono::seconds interval) {
  interval_ = interval;
  thread_ = std::thread([this, &service] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      auto usage = service.usage();
      const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
      if (usage) add(now_ms, *usage);
      else log::warn("api.usage_failed", {{"error", usage.error().message}});
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  });
}

void UsageHistory::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace seed::api::admin
