// Who holds each instance's console: one interactive session per instance at a time (the
// guest's console port has one relay, and two people typing into one shell is no feature).
// A second caller is told whose key holds it and since when; never a repository or a tenant
// name, so the message tells a stranger to the instance nothing (they get "not found" before
// they get here anyway).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/error.hpp"
#include "reconcile/plan_types.hpp"

namespace seed::reconcile {

class ConsoleHolders {
 public:
  // Takes the console of `id` for the key `fingerprint`; Errc::in_use while it is held.
  Status take(const InstanceId& id, const std::string& fingerprint, int64_t now_us);
  void release(const InstanceId& id);

 private:
  struct Holder {
    std::string fingerprint;
    int64_t since_us = 0;
  };
  std::mutex mu_;
  std::map<InstanceId, Holder> held_;
};

}  // namespace seed::reconcile
