#include "api/shoot/shoot_stream.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/shoot/shoot_output.hpp"

namespace seed::api::shoot {

namespace {

std::string line(const nlohmann::json& j) { return j.dump() + "\n"; }

nlohmann::json status_of(const reconcile::ShootReply& r) {
  return {{"exitCode", r.exit_code},
          {"timedOut", r.timed_out},
          {"signal", r.signal ? nlohmann::json(*r.signal) : nlohmann::json(nullptr)},
          {"truncated", r.truncated},
          {"durationMs", r.duration_ms}};
}

// Between the shoot's thread and the stream that sends its reply.
struct ShootRun {
  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  std::optional<Result<reconcile::ShootReply>> result;
  std::string lines;        // NDJSON output lines not sent yet
  std::string carry[2];     // per stream: a UTF-8 sequence cut at a chunk's end
  std::atomic<bool> cancelled{false};
  std::thread thread;

  // One output line per chunk (under mu). A multi-byte character split across chunks is held
  // back until its rest comes, so text stays text.
  void add_output(bool is_stderr, std::string_view bytes, bool flush) {
    std::string& held = carry[is_stderr ? 1 : 0];
    held.append(bytes);
    const size_t n = flush ? held.size() : utf8_complete_prefix(held);
    if (n == 0) return;
    nlohmann::json j = nlohmann::json::object();
    put_output(j, is_stderr ? "stderr" : "stdout", "encoding", std::string_view(held).substr(0, n));
    lines += line(j);
    held.erase(0, n);
  }
};

class ShootStream : public BodyStream {
 public:
  ShootStream(std::shared_ptr<ShootRun> run, bool ndjson, ErrorReply error_reply, std::chrono::milliseconds heartbeat)
      : run_(std::move(run)), ndjson_(ndjson), error_reply_(std::move(error_reply)), heartbeat_(heartbeat) {}

  // Done, abandoned or cut: a shoot still running is cancelled (the engine kills its clone).
  ~ShootStream() override {
    run_->cancelled = true;
    if (run_->thread.joinable()) run_->thread.join();
  }

  ssize_t read(char* buf, size_t max) override {
    if (sent_ == pending_.size()) {
      if (last_) return 0;
      pending_ = next();
      sent_ = 0;
    }
    const size_t n = std::min(max, pending_.size() - sent_);
    std::memcpy(buf, pending_.data() + sent_, n);
    sent_ += n;
    return static_cast<ssize_t>(n);
  }

 private:
  // Output lines, a heartbeat newline, or the end of the reply.
  std::string next() {
    std::unique_lock lock(run_->mu);
    run_->cv.wait_for(lock, heartbeat_, [&] { return run_->result.has_value() || !run_->lines.empty(); });
    if (!run_->result) return run_->lines.empty() ? "\n" : std::exchange(run_->lines, {});
    last_ = true;
    const auto& result = *run_->result;
    std::string out;
    if (ndjson_) {
      run_->add_output(false, "", true);
      run_->add_output(true, "", true);
      out = std::exchange(run_->lines, {});
    }
    if (!result) {
      const Response r = error_reply_(result.error());
      auto detail = nlohmann::json::parse(r.body, nullptr, false);
      return out + line({{"error", detail.is_object() ? detail.value("detail", r.body) : r.body}, {"status", r.status}});
    }
    return out + (ndjson_ ? line(status_of(*result)) : reply_json(*result));
  }

  std::shared_ptr<ShootRun> run_;
  bool ndjson_;
  ErrorReply error_reply_;
  std::chrono::milliseconds heartbeat_;
  std::string pending_;
  size_t sent_ = 0;
  bool last_ = false;
};

}  // namespace

std::string reply_json(const reconcile::ShootReply& reply) {
  auto j = status_of(reply);
  put_output(j, "stdout", "stdoutEncoding", reply.out);
  put_output(j, "stderr", "stderrEncoding", reply.err);
  return line(j);
}

Response start_shoot(RunShoot run_shoot, reconcile::ShootRequest request, bool ndjson, ErrorReply error_reply,
                     std::chrono::milliseconds heartbeat) {
  auto run = std::make_shared<ShootRun>();
  // Raw pointers: the thread's request must not keep `run` alive in a cycle; `run` outlives
  // the thread (the stream or this function joins it).
  ShootRun* r = run.get();
  request.on_started = [r] {
    std::lock_guard lock(r->mu);
    r->started = true;
    r->cv.notify_all();
  };
  if (ndjson) {
    request.on_output = [r](bool is_stderr, std::string_view bytes) {
      std::lock_guard lock(r->mu);
      r->add_output(is_stderr, bytes, false);
      r->cv.notify_all();
    };
  }
  run->thread = std::thread([r, run_shoot = std::move(run_shoot), request = std::move(request)] {
    auto result = run_shoot(request, r->cancelled);
    std::lock_guard lock(r->mu);
    r->result = std::move(result);
    r->cv.notify_all();
  });
  {
    std::unique_lock lock(run->mu);
    run->cv.wait(lock, [&] { return run->started || run->result.has_value(); });
    if (!run->started) {
      // Refused or failed before a clone was taken: an ordinary reply with its own status.
      lock.unlock();
      run->thread.join();
      if (!*run->result) return error_reply(run->result->error());
      Response plain;
      plain.body = reply_json(**run->result);
      return plain;
    }
  }
  Response streamed;
  streamed.content_type = ndjson ? "application/x-ndjson" : "application/json";
  streamed.stream = std::make_shared<ShootStream>(run, ndjson, std::move(error_reply), heartbeat);
  return streamed;
}

}  // namespace seed::api::shoot
