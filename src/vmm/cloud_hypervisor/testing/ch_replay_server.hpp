// Replays recorded Cloud Hypervisor API exchanges (testdata/exchanges/*.json) on a real Unix
// socket, with libmicrohttpd standing in for CH's HTTP server.
//
// The script is strict: the n-th request must have the n-th exchange's method, path and JSON
// body (compared as parsed JSON, so key order and spacing do not matter), and a PUT that
// expects no body must carry none. Anything else fails the running test with a readable
// diff and is answered 500, so the client under test also sees the failure.
#pragma once

#include <microhttpd.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace seed::vmm::ch::testing {

struct RecordedExchange {
  std::string note;
  std::string method;  // "GET" or "PUT"
  std::string path;    // "/api/v1/vm.info"
  std::optional<nlohmann::json> request_body;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // exactly the bytes CH sends
};

struct ExchangeFile {
  std::string ch_version;
  std::string source;
  std::vector<RecordedExchange> exchanges;
};

// Parses a file of testdata/exchanges after substituting `${NAME}` variables. A response
// body is either "body" (a string, sent as is) or "body_json" (a document, sent compact in
// the key order written, as CH's serde_json does). Throws on malformed test data.
ExchangeFile load_exchanges(const std::string& file, const std::map<std::string, std::string>& vars = {});

// The exchanges of `file` named by their "note" field, in the given order.
std::vector<RecordedExchange> pick(const ExchangeFile& file, const std::vector<std::string>& notes);

class ReplayServer {
 public:
  ReplayServer(const std::string& socket_path, std::vector<RecordedExchange> script);
  ~ReplayServer();
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  size_t served() const;
  // Exchanges of the script not requested yet (a test normally expects 0 at its end).
  std::vector<std::string> pending() const;
  std::vector<std::string> mismatches() const;

 private:
  static MHD_Result handle(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char* version, const char* upload_data,
                           size_t* upload_data_size, void** con_cls);
  static void completed(void* cls, MHD_Connection* connection, void** con_cls,
                        MHD_RequestTerminationCode toe);
  MHD_Result respond(MHD_Connection* connection, const std::string& url, const std::string& method,
                     const std::string& body);

  std::string socket_path_;
  std::vector<RecordedExchange> script_;
  mutable std::mutex mutex_;
  size_t next_ = 0;
  std::vector<std::string> mismatches_;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace seed::vmm::ch::testing
