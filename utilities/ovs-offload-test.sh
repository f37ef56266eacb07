#!/bin/bash
# The full test suite: sets up and builds everything, then runs make check.
# Extra arguments go to the autotest suite (e.g. -k conntrack, -v).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

utilities/ovs-offload-build.sh
export PATH=/usr/bin:/bin:/usr/sbin:/sbin:$PATH
make -s check TESTSUITEFLAGS="-j$(nproc) $*"
