#include "reconcile/instance_resolver.hpp"

namespace seed::reconcile {
namespace {

Error resolve_error(Errc code, std::string message, std::string_view text) {
  return make_error(code, std::move(message)).with("stage", "resolve").with("instance", std::string(text));
}

bool is_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string describe(const reconcile::InstanceView& i) { return i.id.str() + " (" + i.source + ")"; }

}  // namespace

Result<InstanceSpec> parse_instance_spec(std::string_view text) {
  InstanceSpec spec;
  std::string_view rest = text;
  if (auto slash = text.rfind('/'); slash != std::string_view::npos) {
    spec.source = std::string(text.substr(0, slash));
    rest = text.substr(slash + 1);
    if (spec.source.empty()) {
      return resolve_error(Errc::invalid_argument, "\"" + std::string(text) + "\" has an empty source before '/'", text)
          .with("hint", "write the instance as name, name.namespace or source/name");
    }
  } else if (auto dot = text.find('.'); dot != std::string_view::npos) {
    spec.ns = std::string(text.substr(dot + 1));
    rest = text.substr(0, dot);
    if (!is_label(spec.ns)) {
      return resolve_error(Errc::invalid_argument, "\"" + spec.ns + "\" is not a namespace (a DNS label)", text)
          .with("hint", "write the instance as name, name.namespace or source/name");
    }
  }
  if (!is_label(rest)) {
    return resolve_error(Errc::invalid_argument,
                         "\"" + std::string(rest) + "\" is not an instance name (a lowercase DNS label)", text)
        .with("hint", "write the instance as name, name.namespace or source/name; `seedctl status` lists them");
  }
  spec.name = std::string(rest);
  return spec;
}

Result<InstanceId> match_instance(const InstanceSpec& spec,
                                             const std::vector<SourceView>& sources) {
  std::vector<const reconcile::InstanceView*> found;
  for (const auto& s : sources) {
    for (const auto& i : s.instances) {
      if (i.id.name != spec.name) continue;
      if (!spec.ns.empty() && i.id.ns != spec.ns) continue;
      found.push_back(&i);
    }
  }
  std::string text = spec.name + (spec.ns.empty() ? "" : "." + spec.ns);
  if (!spec.source.empty()) text = spec.source + "/" + text;
  if (found.empty()) {
    return resolve_error(Errc::not_found, "no instance " + text + " is planted", text)
        .with("hint", "`seedctl status` lists every instance");
  }
  if (found.size() > 1) {
    std::string list;
    for (const auto* i : found) list += (list.empty() ? "" : ", ") + describe(*i);
    return resolve_error(Errc::invalid_argument, "\"" + text + "\" is ambiguous: " + list, text)
        .with("hint", "name it as name.namespace or source/name");
  }
  return found.front()->id;
}

Result<InstanceId> resolve_instance(std::string_view text, Service& service) {
  auto spec = SEED_TRY(parse_instance_spec(text));
  std::optional<std::string_view> source;
  if (!spec.source.empty()) source = spec.source;
  auto sources = service.status(source);
  if (!sources) {
    auto e = std::move(sources).error();
    if (!e.get("stage")) e.with("stage", "resolve");
    return e;
  }
  return match_instance(spec, *sources);
}

}  // namespace seed::reconcile
