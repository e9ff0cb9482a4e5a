#include "net/nftables.hpp"

#include <nftables/libnftables.h>

#include <memory>

namespace seed::net {
namespace {

struct CtxDeleter {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
using Ctx = std::unique_ptr<nft_ctx, CtxDeleter>;

// A fresh context per call: its netlink socket then belongs to the caller's current network
// namespace, and no state survives between applies.
Result<Ctx> make_ctx(bool json) {
  Ctx ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) {
    return make_error(Errc::unavailable, "cannot initialise libnftables (is nf_tables available?)")
        .with("stage", "network");
  }
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  if (json) nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
  return ctx;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Status nft_apply(const std::string& batch) {
  auto ctx = SEED_TRY(make_ctx(false));
  if (nft_run_cmd_from_buffer(ctx.get(), batch.c_str()) != 0) {
    std::string msg = trim(nft_ctx_get_error_buffer(ctx.get()));
    return make_error(Errc::invalid_argument,
                      "nftables rejected seedd's firewall ruleset; nothing was changed "
                      "(the previous ruleset stays active)")
        .with("stage", "network")
        .with("nft", msg.empty() ? "(no message)" : msg);
  }
  return ok();
}

Result<std::string> nft_list(const std::string& command, bool json) {
  auto ctx = SEED_TRY(make_ctx(json));
  if (nft_run_cmd_from_buffer(ctx.get(), command.c_str()) != 0) {
    std::string msg = trim(nft_ctx_get_error_buffer(ctx.get()));
    Errc code = msg.find("No such file or directory") != std::string::npos ? Errc::not_found
                                                                           : Errc::invalid_argument;
    return make_error(code, "nft " + command + " failed").with("nft", msg);
  }
  return std::string(nft_ctx_get_output_buffer(ctx.get()));
}

}  // namespace seed::net
