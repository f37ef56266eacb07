#!/bin/bash
# Sets up the machine (utilities/ovs-offload-setup.sh), then configures and
# builds the project in the checkout.  Idempotent.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

utilities/ovs-offload-setup.sh
export PATH=/usr/bin:/bin:/usr/sbin:/sbin:$PATH
[ -x configure ] || ./boot.sh >/dev/null 2>&1
[ -f Makefile ] || ./configure --prefix=/usr --sysconfdir=/etc \
                               --localstatedir=/var >/dev/null
echo "build: make"
make -s -j"$(nproc)" >/dev/null
make -s -j"$(nproc)" tests/ovstest-offload >/dev/null
