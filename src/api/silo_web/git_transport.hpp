// The parts of Silo on the web that run git: tarballs (`git archive`) and read-only clones
// (git's smart HTTP through git-http-backend, a CGI program). Both stream the program's output
// to the client through ProcessStream; neither builds a command line from text: argv vectors,
// and for the CGI its documented environment.
#pragma once

#include <memory>
#include <string>

#include "api/http_types.hpp"
#include "api/silo_web/process_stream.hpp"
#include "api/silo_web/silo_web.hpp"

namespace seed::api::silo_web {

class GitTransport {
 public:
  explicit GitTransport(const SiloWebConfig& config)
      : config_(config), slots_(std::make_shared<StreamSlots>(config.max_processes, config.max_processes_per_source)) {}

  // GET /<repo>/archive/<ref>.tar.gz: `git archive --format=tar.gz --prefix=<repo>-<ref>/ <commit>`.
  Response archive(const Request& r) const;
  // GET /<repo>[.git]/info/refs?service=git-upload-pack and POST /<repo>[.git]/git-upload-pack.
  Response smart_http(const Request& r, const std::string& what) const;
  // Anything that would push: 403, saying to push over SSH.
  Response refuse_push(const Request& r) const;

 private:
  const SiloWebConfig& config_;
  std::shared_ptr<StreamSlots> slots_;
  MinClientRate min_rate() const { return {config_.min_client_bytes_per_second, config_.client_rate_window}; }
};

}  // namespace seed::api::silo_web
