// Silo on the web (issue 17): a read-only view of every Silo repository for the public listener
// (reached as silo.<domain> through the ingress). Read access is public, as over SSH.
//
//   GET  /                                   the repositories
//   GET  /<repo>                             the default branch: files, README, clone command
//   GET  /<repo>.git                         301 to /<repo>
//   GET  /<repo>/tree/<ref>[/<path>]         a directory
//   GET  /<repo>/blob/<ref>/<path>           a file, highlighted (GNU source-highlight)
//   GET  /<repo>/raw/<ref>/<path>            a file as is
//   GET  /<repo>/commits/<ref>               recent commits
//   GET  /<repo>/archive/<ref>.tar.gz        `git archive`, streamed as it is made
//   GET  /<repo>[.git]/info/refs, POST /<repo>[.git]/git-upload-pack
//                                            `git clone http://silo.<domain>/<repo>.git`
//                                            through git-http-backend (CGI); pushes refused
//   GET  /-/silo.css                         the pages' style
//
// A <ref> may hold '/' ("feature/x"): where it ends is the longest match against the
// repository's real refs (ref_path.hpp).
//
// Depends on common only: the repositories' directory and the programs come in the config.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "api/router.hpp"

namespace seed::api::silo_web {

struct SiloWebConfig {
  std::string root;        // Silo's bare repositories, <root>/<name>.git
  std::string clone_base;  // how clients reach this listener, e.g. "http://silo.example.org"
  std::string git = "git";
  std::string http_backend = "/usr/lib/git-core/git-http-backend";
  std::string source_highlight_dir = "/usr/share/source-highlight";
  uint64_t max_file_bytes = 512 * 1024;       // a file page shows this much, then says it is cut
  uint64_t max_highlight_bytes = 256 * 1024;  // larger files are shown without highlighting
  uint64_t max_raw_bytes = 16 << 20;          // /raw/ of a larger file points at clone/archive
  size_t commits = 50;                        // on the commits page
  unsigned max_processes = 8;                 // archives and clones running at once
  unsigned max_processes_per_source = 2;      // … of them for one client address
  std::chrono::milliseconds stall{30000};     // a git process silent this long is cut off
  // A client taking a tarball or a pack slower than this (averaged over each window) is cut
  // off and its git process ended: a reader that stops would otherwise hold both for good.
  uint64_t min_client_bytes_per_second = 4096;
  std::chrono::milliseconds client_rate_window{30000};
  // A fetch's negotiation (POST git-upload-pack) carries one 50-byte `have` line per commit the
  // client offers, so a clone with many refs outgrows the listener's 64 KiB body limit; the
  // body is held in memory until git-http-backend takes it, so this is also what one such
  // request may cost.
  size_t max_negotiation_bytes = 4 << 20;
};

// Adds the routes above to `router` (the public listener's). Routes are fixed at start; the
// repositories are read per request, so new pushes show at once.
void add_silo_web_routes(Router& router, SiloWebConfig config);

}  // namespace seed::api::silo_web
