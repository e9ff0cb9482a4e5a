#include "vmm/cloud_hypervisor/testing/ch_replay_server.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "common/unix_socket.hpp"
#include "vmm/cloud_hypervisor/testing/ch_test_util.hpp"

namespace seed::vmm::ch::testing {

using nlohmann::json;
using nlohmann::ordered_json;

ExchangeFile load_exchanges(const std::string& file, const std::map<std::string, std::string>& vars) {
  // ordered_json keeps the key order written in the file, which is the order CH serializes.
  ordered_json doc = ordered_json::parse(read_testdata("exchanges/" + file, vars));
  ExchangeFile out;
  out.ch_version = doc.at("ch_version").get<std::string>();
  out.source = doc.at("source").get<std::string>();
  for (const auto& item : doc.at("exchanges")) {
    RecordedExchange ex;
    ex.note = item.at("note").get<std::string>();
    const auto& req = item.at("request");
    ex.method = req.at("method").get<std::string>();
    ex.path = req.at("path").get<std::string>();
    if (req.contains("body")) ex.request_body = json::parse(req.at("body").dump());
    const auto& resp = item.at("response");
    ex.status = resp.at("status").get<int>();
    if (resp.contains("headers")) {
      for (const auto& [k, v] : resp.at("headers").items()) ex.headers.emplace_back(k, v.get<std::string>());
    }
    if (resp.contains("body")) ex.body = resp.at("body").get<std::string>();
    if (resp.contains("body_json")) ex.body = resp.at("body_json").dump();
    out.exchanges.push_back(std::move(ex));
  }
  return out;
}

std::vector<RecordedExchange> pick(const ExchangeFile& file, const std::vector<std::string>& notes) {
  std::vector<RecordedExchange> out;
  for (const auto& note : notes) {
    bool found = false;
    for (const auto& ex : file.exchanges) {
      if (ex.note == note) {
        out.push_back(ex);
        found = true;
        break;
      }
    }
    if (!found) throw std::runtime_error("no exchange with note '" + note + "'");
  }
  return out;
}

ReplayServer::ReplayServer(const std::string& socket_path, std::vector<RecordedExchange> script)
    : socket_path_(socket_path), script_(std::move(script)) {
  auto listener = listen_unix(socket_path);
  if (!listener) throw std::runtime_error(listener.error().describe());
  // MHD owns the listening socket from here on and closes it when stopped.
  int fd = listener->release();
  daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, nullptr, nullptr, &handle, this,
                             MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, &completed,
                             this, MHD_OPTION_END);
  if (daemon_ == nullptr) throw std::runtime_error("MHD_start_daemon failed on " + socket_path);
}

ReplayServer::~ReplayServer() {
  MHD_stop_daemon(daemon_);
  ::unlink(socket_path_.c_str());
}

size_t ReplayServer::served() const {
  std::lock_guard lock(mutex_);
  return next_;
}

std::vector<std::string> ReplayServer::pending() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (size_t i = next_; i < script_.size(); ++i) out.push_back(script_[i].note);
  return out;
}

std::vector<std::string> ReplayServer::mismatches() const {
  std::lock_guard lock(mutex_);
  return mismatches_;
}

void ReplayServer::completed(void* /*cls*/, MHD_Connection* /*connection*/, void** con_cls,
                             MHD_RequestTerminationCode /*toe*/) {
  delete static_cast<std::string*>(*con_cls);
  *con_cls = nullptr;
}

MHD_Result ReplayServer::handle(void* cls, MHD_Connection* connection, const char* url,
                                const char* method, const char* /*version*/,
                                const char* upload_data, size_t* upload_data_size, void** con_cls) {
  auto* self = static_cast<ReplayServer*>(cls);
  if (*con_cls == nullptr) {  // first call: headers only
    *con_cls = new std::string();
    return MHD_YES;
  }
  auto* body = static_cast<std::string*>(*con_cls);
  if (*upload_data_size > 0) {
    body->append(upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  const char* content_type = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Type");
  std::string request_body = *body;
  if (!request_body.empty() && (content_type == nullptr || std::string(content_type) != "application/json")) {
    std::lock_guard lock(self->mutex_);
    self->mismatches_.push_back(std::string(method) + " " + url +
                                ": a JSON body without Content-Type: application/json");
  }
  return self->respond(connection, url, method, request_body);
}

MHD_Result ReplayServer::respond(MHD_Connection* connection, const std::string& url,
                                 const std::string& method, const std::string& body) {
  std::string problem;
  RecordedExchange ex;
  {
    std::lock_guard lock(mutex_);
    if (next_ >= script_.size()) {
      problem = "unexpected request " + method + " " + url + " after the whole script (" +
                std::to_string(script_.size()) + " exchanges) was served";
    } else {
      ex = script_[next_];
      std::string where = "exchange #" + std::to_string(next_ + 1) + " ('" + ex.note + "')";
      if (method != ex.method || url != ex.path) {
        problem = where + ": expected " + ex.method + " " + ex.path + ", got " + method + " " + url;
      } else if (!ex.request_body && !body.empty()) {
        problem = where + ": expected no body, got " + body;
      } else if (ex.request_body) {
        json actual = json::parse(body, nullptr, false);
        if (actual.is_discarded()) {
          problem = where + ": body is not JSON: '" + body + "'";
        } else if (actual != *ex.request_body) {
          problem = where + ": request body differs from the recording:\n" +
                    describe_json_diff(*ex.request_body, actual);
        }
      }
      ++next_;
    }
    if (!problem.empty()) mismatches_.push_back(problem);
  }
  if (!problem.empty()) {
    ADD_FAILURE() << "replay server: " << problem;
    ex.status = 500;
    ex.headers = {{"Content-Type", "application/json"}};
    ex.body = json::array({"seed replay server: " + problem}).dump();
  }
  MHD_Response* response = MHD_create_response_from_buffer(
      ex.body.size(), const_cast<char*>(ex.body.data()), MHD_RESPMEM_MUST_COPY);
  for (const auto& [k, v] : ex.headers) MHD_add_response_header(response, k.c_str(), v.c_str());
  MHD_Result r = MHD_queue_response(connection, static_cast<unsigned>(ex.status), response);
  MHD_destroy_response(response);
  return r;
}

}  // namespace seed::vmm::ch::testing
