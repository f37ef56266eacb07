#!/bin/bash
# The full test suite: sets up and builds everything, then runs make check.
# Extra arguments go to the autotest suite (e.g. -k conntrack, -v) and run it
# once, in parallel; without them it runs in two parts (below).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

utilities/ovs-offload-build.sh
export PATH=/usr/bin:/bin:/usr/sbin:/sbin:$PATH
if [ $# -gt 0 ]; then
    make -s check TESTSUITEFLAGS="-j$(nproc) $*"
else
    # Most tests run in parallel.  Those that measure against the clock or
    # the machine's whole capacity (keyword "serial": 5k flows/s through a
    # userspace datapath) and the RDMA guests (QEMU under TCG takes every
    # core it can) run afterwards, one at a time.
    make -s check TESTSUITEFLAGS="-j$(nproc) -k !serial,!rdma"
    make -s check TESTSUITEFLAGS="-k serial -k rdma"
fi
