// The status page's own files, embedded at build time (embed_assets.py): name → content.
#pragma once

#include <map>
#include <string>

namespace seed::api::admin {

const std::map<std::string, std::string>& page_assets();

}  // namespace seed::api::admin
