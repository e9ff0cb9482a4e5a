#include "reconcile/guest_setup.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"

namespace seed::reconcile {
namespace fs = std::filesystem;

namespace {

std::string env_name(std::string conn) {
  std::string out;
  for (char c : conn) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

Status make_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(Errc::io, "cannot create " + dir + ": " + ec.message()).with("stage", "prepare");
  return {};
}

std::string strip_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

}  // namespace

std::string instance_fqdn(const InstanceId& id, const std::string& domain) {
  return id.name + "." + id.ns + "." + domain;
}

std::string connect_fqdn(const std::string& ns, const std::string& service, const std::string& domain) {
  // A name with a dot is a DNS name already (`auth.example.org`); a label is an instance of
  // the same namespace.
  if (service.find('.') != std::string::npos) return service;
  return instance_fqdn({ns, service}, domain);
}

Status write_seed_share(const GuestInputs& in) {
  SEED_TRY(make_dir(in.seed_share));
  SEED_TRY(make_dir(in.seed_share + "/connect"));
  const std::string fqdn = instance_fqdn(in.id, in.domain);

  std::string env = "SEED_FQDN=" + fqdn + "\n";
  for (const auto& [conn, c] : in.meta.connect) {
    // _HOST is the service as written (`my-redis`): the guest's search domain resolves an
    // instance name, and a DNS name is used as it is. _FQDN spells the instance's full name
    // for programs that do not use the search domain.
    env += (c.env.empty() ? "SEED_" + env_name(conn) + "_HOST" : c.env) + "=" + c.service + "\n";
    env += "SEED_" + env_name(conn) + "_FQDN=" + connect_fqdn(in.id.ns, c.service, in.domain) + "\n";
  }
  for (const auto& [k, v] : in.env_extra) env += k + "=" + v + "\n";
  SEED_TRY(write_file_atomic(in.seed_share + "/env", env));

  nlohmann::json iface = {{"mac", in.mac}, {"addresses", {in.ipv4_cidr}}, {"gateway", in.gateway4}};
  if (!in.ipv6_cidr.empty()) {
    iface["addresses"].push_back(in.ipv6_cidr);
    iface["gateway6"] = in.gateway6;
  }
  nlohmann::json network = {{"interfaces", {iface}},
                            {"dns", {in.nameserver}},
                            {"search", {in.id.ns + "." + in.domain}},
                            {"hostname", in.id.name}};
  SEED_TRY(write_file_atomic(in.seed_share + "/network.json", network.dump(2) + "\n"));

  nlohmann::json instance = {
      {"name", in.id.name}, {"namespace", in.id.ns}, {"fqdn", fqdn}, {"generation", in.generation}};
  SEED_TRY(write_file_atomic(in.seed_share + "/instance.json", instance.dump(2) + "\n"));

  for (const auto& [conn, c] : in.meta.connect) {
    const std::string value = c.value.empty() ? c.service + (c.port ? ":" + std::to_string(*c.port) : "") : c.value;
    SEED_TRY(write_file_atomic(in.seed_share + "/connect/" + conn, value + "\n"));
  }
  return {};
}

Result<std::string> read_kernel_params(const std::string& toplevel) {
  auto params = read_file(toplevel + "/kernel-params");
  if (!params) {
    return make_error(Errc::not_found, "the toplevel " + toplevel +
                                           " has no kernel-params: it is not a NixOS system (or was garbage-collected)")
        .with("stage", "boot")
        .with("hint", "seeds.<name>.toplevel must have the NixOS layout: kernel, initrd, kernel-params, init");
  }
  return strip_newlines(*params);
}

Result<vmm::VmSpec> guest_vm_spec(const GuestInputs& in) {
  vmm::VmSpec spec;
  spec.name = in.vm_name;
  spec.vcpus = in.meta.vcpus;
  spec.memory_mib = in.meta.memory_mib;
  spec.kernel = in.toplevel + "/kernel";
  spec.initrd = in.toplevel + "/initrd";
  auto params = read_kernel_params(in.toplevel);
  if (!params) return std::move(params).error().with("instance", in.id.str());
  std::string cmdline = *params;
  cmdline += " seed.fs=seed:/run/seed/host:ro seed.net=/run/seed/host/network.json";
  spec.shares.push_back({"nix-store", in.store_dir, true});
  spec.shares.push_back({"seed", in.seed_share, true});
  if (!in.tpm_share.empty()) {
    spec.shares.push_back({"seed-tpm", in.tpm_share, false});
    cmdline += " seed.fs=seed-tpm:/seed/tpm";
  }
  for (const auto& [volume, v] : in.meta.storage) {
    auto path = in.volume_paths.find(volume);
    if (path == in.volume_paths.end()) {
      return make_error(Errc::internal, "volume " + volume + " of " + in.id.str() + " is not mounted")
          .with("stage", "boot");
    }
    spec.shares.push_back({v.share, path->second, false});
    cmdline += " seed.fs=" + v.share + ":" + v.mount_point;
  }
  spec.cmdline = cmdline;
  spec.nets.push_back({in.tap, in.mac});
  spec.tpm_socket = in.tpm_socket;
  return spec;
}

}  // namespace seed::reconcile
