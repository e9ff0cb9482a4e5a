#include "common/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/log.hpp"

namespace seed::metrics {

void AtomicDouble::add(double v) {
  double old = bits_.load(std::memory_order_relaxed);
  while (!bits_.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) {
  // Buckets hold their own count (not cumulative), so an observe touches one atomic.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.add(v);
}

std::vector<uint64_t> Histogram::cumulative() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> duration_bounds() {
  return {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
}

bool valid_metric_name(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool valid_label_name(const std::string& name) {
  return valid_metric_name(name) && name.find(':') == std::string::npos && name.rfind("__", 0) != 0;
}

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

namespace {

const char* type_name(Type t) {
  switch (t) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

std::string escape_help(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string label_text(const std::vector<std::string>& names, const std::vector<std::string>& values,
                       const std::string& extra = {}) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (out.empty() ? "" : ",") + names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

struct Registry::Family {
  std::string help;
  Type type;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  // histograms
  std::map<std::vector<std::string>, std::unique_ptr<Counter>> counters;
  std::map<std::vector<std::string>, std::unique_ptr<Gauge>> gauges;
  std::map<std::vector<std::string>, std::unique_ptr<Histogram>> histograms;
  std::function<void(Sink&)> collect;  // collector families only
};

Registry& global() {
  static Registry registry;
  return registry;
}

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family* Registry::family(const std::string& name, const std::string& help, Type type,
                                   const Labels& labels) {
  std::vector<std::string> names;
  for (const auto& [n, v] : labels) names.push_back(n);
  auto it = families_.find(name);
  if (it == families_.end()) {
    bool ok = valid_metric_name(name);
    for (const auto& n : names) ok = ok && valid_label_name(n) && n != "le";
    if (!ok) {
      log::error("metrics.bad_name", {{"metric", name}});
      return nullptr;
    }
    auto f = std::make_unique<Family>();
    f->help = help;
    f->type = type;
    f->label_names = names;
    it = families_.emplace(name, std::move(f)).first;
  }
  Family* f = it->second.get();
  if (f->help.empty()) f->help = help;  // a reader that registered first without one
  if (f->type != type || f->label_names != names || f->collect) {
    log::error("metrics.mismatch", {{"metric", name}});
    return nullptr;
  }
  return f;
}

namespace {
std::vector<std::string> values_of(const Labels& labels) {
  std::vector<std::string> v;
  for (const auto& [n, value] : labels) v.push_back(value);
  return v;
}
}  // namespace

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  Family* f = family(name, help, Type::counter, labels);
  if (f == nullptr) return *detached_counters_.emplace_back(std::make_unique<Counter>());
  auto& slot = f->counters[values_of(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  Family* f = family(name, help, Type::gauge, labels);
  if (f == nullptr) return *detached_gauges_.emplace_back(std::make_unique<Gauge>());
  auto& slot = f->gauges[values_of(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, const Labels& labels,
                               const std::vector<double>& bounds) {
  std::lock_guard lock(mu_);
  Family* f = family(name, help, Type::histogram, labels);
  if (f == nullptr) return *detached_histograms_.emplace_back(std::make_unique<Histogram>(bounds));
  auto& slot = f->histograms[values_of(labels)];
  if (!slot) slot = std::make_unique<Histogram>(f->bounds.empty() ? bounds : f->bounds);
  if (f->bounds.empty()) f->bounds = slot->bounds();
  return *slot;
}

void Registry::collector(const std::string& name, const std::string& help, Type type,
                         std::function<void(Sink&)> collect) {
  std::lock_guard lock(mu_);
  if (!valid_metric_name(name) || families_.count(name) != 0 || type == Type::histogram) {
    log::error("metrics.bad_collector", {{"metric", name}});
    return;
  }
  auto f = std::make_unique<Family>();
  f->help = help;
  f->type = type;
  f->collect = std::move(collect);
  families_.emplace(name, std::move(f));
}

void Registry::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  families_.erase(name);
}

void Registry::forget(const std::string& label, const std::string& value) {
  std::lock_guard lock(mu_);
  for (auto& [name, f] : families_) {
    auto at = std::find(f->label_names.begin(), f->label_names.end(), label);
    if (at == f->label_names.end()) continue;
    const size_t i = at - f->label_names.begin();
    auto drop = [&](auto& series) {
      std::erase_if(series, [&](const auto& kv) { return kv.first[i] == value; });
    };
    // Handles given out stay valid for their holder only until forget(): callers forget an
    // instance's series after they stopped updating them.
    drop(f->counters);
    drop(f->gauges);
    drop(f->histograms);
  }
}

namespace {

// Collects a collector family's samples; label names come with each sample.
class TextSink : public Sink {
 public:
  TextSink(const std::string& family, std::string& out) : family_(family), out_(out) {}
  void sample(const std::string& family, const Labels& labels, double value) override {
    if (family != family_) return;  // a collector reports only its own family
    std::vector<std::string> names, values;
    for (const auto& [n, v] : labels) {
      if (!valid_label_name(n)) continue;
      names.push_back(n);
      values.push_back(v);
    }
    out_ += family_ + label_text(names, values) + " " + format_value(value) + "\n";
  }

 private:
  const std::string& family_;
  std::string& out_;
};

}  // namespace

std::string Registry::expose() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f->help) + "\n";
    out += "# TYPE " + name + " " + type_name(f->type) + "\n";
    if (f->collect) {
      TextSink sink(name, out);
      f->collect(sink);
      continue;
    }
    for (const auto& [values, c] : f->counters) {
      out += name + label_text(f->label_names, values) + " " + format_value(c->value()) + "\n";
    }
    for (const auto& [values, g] : f->gauges) {
      out += name + label_text(f->label_names, values) + " " + format_value(g->value()) + "\n";
    }
    for (const auto& [values, h] : f->histograms) {
      const auto counts = h->cumulative();
      for (size_t i = 0; i < counts.size(); ++i) {
        const std::string le = i < h->bounds().size() ? format_value(h->bounds()[i]) : "+Inf";
        out += name + "_bucket" + label_text(f->label_names, values, "le=\"" + le + "\"") + " " +
               std::to_string(counts[i]) + "\n";
      }
      out += name + "_sum" + label_text(f->label_names, values) + " " + format_value(h->sum()) + "\n";
      out += name + "_count" + label_text(f->label_names, values) + " " + std::to_string(counts.back()) + "\n";
    }
  }
  return out;
}

}  // namespace seed::metrics
