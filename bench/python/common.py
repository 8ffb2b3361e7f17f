"""Helpers shared by the bench's Python peers."""
import json
import sys


def peak_rss_mb():
    """VmHWM: the process's peak resident set so far, in MB (1e6 bytes)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return None


def emit(result):
    """One JSON line on stdout is the whole answer to the driver."""
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
