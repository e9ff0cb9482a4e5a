// Prometheus metrics: a registry of counter, gauge and histogram families with labels, and the
// text exposition format (version 0.0.4) that `/metrics` serves. Modules keep the handles they
// register and update them lock-free (atomics); a scrape takes the registry's lock only to walk
// the families. Values that already live elsewhere (instances by state, a VMM's CPU time) are
// not copied into gauges: a collector callback reports them at scrape time.
//
// Why our own: Debian 12 has no C++ Prometheus client library (prometheus-cpp is not packaged),
// and the exposition format is a few lines of text; `promtool check metrics` checks what we
// produce in the tests.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace seed::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;  // name → value, in order

// A double that several threads add to without a lock.
class AtomicDouble {
 public:
  void add(double v);
  void set(double v) { bits_.store(v, std::memory_order_relaxed); }
  double get() const { return bits_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> bits_{0};
};

class Counter {
 public:
  void inc(double by = 1) { value_.add(by < 0 ? 0 : by); }  // counters never go down
  double value() const { return value_.get(); }

 private:
  AtomicDouble value_;
};

class Gauge {
 public:
  void set(double v) { value_.set(v); }
  void add(double by) { value_.add(by); }
  double value() const { return value_.get(); }

 private:
  AtomicDouble value_;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // upper bounds, ascending, +Inf implied
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound (le), then +Inf; with the sum. Taken as one consistent snapshot
  // only per bucket (a scrape racing an observe may see the count one ahead of a bucket, which
  // Prometheus tolerates).
  std::vector<uint64_t> cumulative() const;
  double sum() const { return sum_.get(); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (the +Inf bucket)
  AtomicDouble sum_;
};

// Default histogram bounds for durations in seconds (10 ms … 10 min: a deploy stage spans that).
std::vector<double> duration_bounds();

// What a collector writes at scrape time: one sample of a family it declared.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void sample(const std::string& family, const Labels& labels, double value) = 0;
};

enum class Type { counter, gauge, histogram };

class Registry {
 public:
  Registry();
  ~Registry();  // out of line: Family is defined in metrics.cpp
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each returns the series for these label values, creating the family at first use. The same
  // name with another type or label names is a programming error (logged, and a detached series
  // that is never exposed is returned, so a caller never crashes a daemon over a metric).
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                       const std::vector<double>& bounds = duration_bounds());

  // A family whose samples a callback reports at each scrape (declared here so HELP/TYPE are
  // printed once even when the callback reports nothing).
  void collector(const std::string& name, const std::string& help, Type type,
                 std::function<void(Sink&)> collect);

  // Removes a family (e.g. a collector whose source is going away).
  void remove(const std::string& name);

  // The text exposition format, families sorted by name, series by labels.
  std::string expose() const;

  // Forgets the series of one label value (e.g. an instance that was removed), in every family
  // that has that label.
  void forget(const std::string& label, const std::string& value);

 private:
  struct Family;
  Family* family(const std::string& name, const std::string& help, Type type, const Labels& labels);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>> families_;
  std::vector<std::unique_ptr<Counter>> detached_counters_;
  std::vector<std::unique_ptr<Gauge>> detached_gauges_;
  std::vector<std::unique_ptr<Histogram>> detached_histograms_;
};

// seedd's one registry, which /metrics exposes. Modules register their families on first use
// (`static auto& c = global().counter(...)`), so no constructor needs a registry passed down;
// tests that read a counter compare before and after, since the registry lives as long as the
// process.
Registry& global();

// A valid metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*; labels without ':' and not `__…`).
bool valid_metric_name(const std::string& name);
bool valid_label_name(const std::string& name);
// A label value as the exposition format writes it (\\, \" and \n escaped).
std::string escape_label_value(const std::string& value);
// A sample value: integers without a fraction, +Inf/-Inf/NaN spelled as Prometheus does.
std::string format_value(double v);

}  // namespace seed::metrics
