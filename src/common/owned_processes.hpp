// Finding the long-lived helpers an earlier seedd started, even those it died before recording.
//
// seedd persists every helper (VMM, virtiofsd, console logger, swtpm) as a ProcessRecord, but a
// record can only be written after the spawn that yields its pid: a kill -9 in between would
// leave a process no record names (an swtpm holding the vTPM lock, a QEMU holding the tap).
// So every such helper is also marked at spawn (SpawnOptions::owner puts SEED_OWNER=<owner> in
// its environment, which /proc/<pid>/environ shows for its whole life and which its own
// children inherit). A restarted seedd adopts what its records name, then ends every other
// process carrying its mark: nothing an earlier seedd started can outlive it unrecorded.
//
// The owner is a directory only this node's seedd uses (its runtime directory), so two seedds
// on one machine (tests run many) never touch each other's processes.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "common/process.hpp"

namespace seed {

// The environment entry spawn() adds for SpawnOptions::owner.
std::string owner_mark(const std::string& owner);

// Live processes (zombies excluded) that carry `owner`'s mark, with their pid, start time and
// argv (from /proc/<pid>/cmdline).
std::vector<ProcessRecord> find_owned(const std::string& owner);

// Ends every live process marked with `owner` except those in `keep` and their descendants
// (virtiofsd's sandbox child belongs to the virtiofsd seedd adopted): SIGTERM to all of them,
// SIGKILL to whoever still runs after `grace` (one grace for all), and waits until each is
// gone, so what it held (a tap, a lock, a socket) is free on return. Then it scans again: a
// stray that started a child while dying (a loop whose child ended first) does not leave that
// child behind. Returns what it ended.
std::vector<ProcessRecord> end_strays(const std::string& owner, const std::set<pid_t>& keep,
                                      std::chrono::milliseconds grace = std::chrono::seconds(2));

}  // namespace seed
