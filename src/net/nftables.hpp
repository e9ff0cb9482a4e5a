// Applies an nft batch through libnftables, in the network namespace of the calling thread.
// A batch is one kernel transaction: it applies whole or not at all.
#pragma once

#include <string>

#include "common/error.hpp"

namespace seed::net {

// Errc::invalid_argument when nft rejects the batch (syntax, or the kernel refused it, e.g. a
// missing nf_tables module feature); the error carries libnftables' own message.
Status nft_apply(const std::string& batch);

// `nft list table <family> seed`-style queries, for status output and tests; the JSON form
// when `json` is set. Errc::not_found when the table does not exist.
Result<std::string> nft_list(const std::string& command, bool json = false);

}  // namespace seed::net
