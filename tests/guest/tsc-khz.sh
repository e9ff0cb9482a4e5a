#!/bin/sh
# Print the host TSC frequency in kHz (integer), for the guest kernel's
# tsc_early_khz= parameter: "cpu MHz" of the first CPU in /proc/cpuinfo x 1000.
# Under TCG about 15 % of -M microvm boots hang after "Marking TSC unstable"
# without it (no HPET/PM timer to calibrate against).
set -eu
khz=$(awk -F: '/^cpu MHz/ { printf "%d\n", $2 * 1000 + 0.5; exit }' /proc/cpuinfo)
if [ -z "$khz" ] || [ "$khz" -le 0 ]; then
	echo "tsc-khz: no \"cpu MHz\" in /proc/cpuinfo" >&2
	exit 1
fi
echo "$khz"
