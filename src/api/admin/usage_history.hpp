// The recent CPU and memory of each instance's VMM, sampled every few seconds, so the status
// page can plot the last hour the moment it is opened. Bounded: `points` samples per instance,
// and instances that are gone are dropped at the next sample.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "reconcile/service.hpp"

namespace seed::api::admin {

struct UsagePoint {
  int64_t at_ms = 0;        // unix time of the sample
  double cpu_percent = 0;   // of one core, since the previous sample
  uint64_t memory_bytes = 0;
};

class UsageHistory {
 public:
  explicit UsageHistory(size_t points = 360) : points_(points) {}
  ~UsageHistory() { stop(); }

  // Adds one sample of every instance (`now_ms` unix ms). CPU% needs two samples of the same
  // VMM: the first one of an instance records 0.
  void add(int64_t now_ms, const std::vector<reconcile::InstanceUsage>& usage);
  // {"interval_s": N, "instances": {"<name>.<namespace>": {"source", "points": [[ms, cpu%, bytes], …],
  //   "volumes": [{"name", "size_bytes", "used_bytes"}, …] (as of the last sample)}}}
  nlohmann::json to_json() const;

  // Samples service.usage() every `interval` on a thread of its own until stop().
  void start(reconcile::Service& service, std::chrono::seconds interval);
  void stop();

 private:
  struct Series {
    std::string source;
    double last_cpu_seconds = -1;
    int64_t last_ms = 0;
    std::deque<UsagePoint> points;
    std::vector<reconcile::InstanceUsage::Volume> volumes;  // the last sample's
  };
  size_t points_;
  std::chrono::seconds interval_{10};
  mutable std::mutex mu_;
  std::map<std::string, Series> series_;
  std::thread thread_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace seed::api::admin
