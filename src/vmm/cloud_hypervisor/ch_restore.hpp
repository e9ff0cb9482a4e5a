// A Cloud Hypervisor snapshot made restorable by one particular VM.
//
// vm.restore takes no paths: it recreates the VM from the snapshot's config.json, the VmConfig
// of the VM that was snapshotted (vmm/src/migration/mod.rs recv_vm_config at v53.0), so the
// serial FIFO, virtiofsd sockets, taps and swtpm socket it names are the *template's*. Many
// shoot clones restored from one template would all open the template's FIFO and sockets. So
// every restore goes through a directory of its own (restore_dir, inside the VM's runtime
// directory): config.json rewritten for the restoring VM's VmPaths and spec, and every other
// file of the snapshot (state.json, memory-ranges) a symlink to the original. Symlinks are
// enough because CH only reads them at restore: state.json with File::open (recv_vm_state,
// vmm/src/migration/mod.rs), memory-ranges opened read-only (MemoryManager::fill_saved_regions
// and the userfaultfd path, vmm/src/memory_manager.rs at v53.0); so guest memory is never
// copied per clone on the host, and the snapshot may be on another filesystem than /run.
//
// The layout of config.json is CH's VmConfig serialized by serde (vmm/src/vm_config.rs), the
// same document vm.info reports under "config"; testdata/snapshot/config.json is one, written
// from that source.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "vmm/cloud_hypervisor/ch_version.hpp"
#include "vmm/vm_paths.hpp"
#include "vmm/vm_spec.hpp"

namespace seed::vmm::ch {

// Where the restoring VM's copy of the snapshot lives: <vm dir>/ch-restore, removed with the
// VM's runtime directory.
std::string restore_dir(const VmPaths& paths);

// The snapshot's config.json with every host-side endpoint replaced by the restoring VM's:
// serial.file (mode File) -> paths.serial_fifo(); console.file (mode Pty) dropped, CH opens a
// new pty at restore anyway (vmm/src/console_devices.rs); fs[].socket -> paths.fs_socket(tag);
// net[i].tap -> spec.nets[i].tap; tpm.socket -> spec.tpm_socket. A snapshot whose interfaces
// or TPM do not match the spec's (a clone cannot take the template's tap or swtpm) is refused
// (Errc::invalid_argument, stage "restore"). Pure.
Result<nlohmann::json> config_for_restore(const nlohmann::json& snapshot_config,
                                          const VmSpec& spec, const VmPaths& paths);

// Fills restore_dir(paths) from `snapshot_dir` (see above), replacing what an earlier restore
// left there. On failure nothing is left behind.
Result<std::string> prepare_restore_dir(const std::string& snapshot_dir, const VmSpec& spec,
                                        const VmPaths& paths);

// The body of vm.restore (RestoreConfig, vmm/src/api/openapi/cloud-hypervisor.yaml): guest
// memory faulted in on demand (userfaultfd) where the release has it, so a clone starts
// without reading all of memory-ranges first; else CH's default, an eager copy. No "resume":
// ChControl resumes itself, which works on every release.
nlohmann::json restore_config(const std::string& source_dir, const ChVersion& version);

}  // namespace seed::vmm::ch
