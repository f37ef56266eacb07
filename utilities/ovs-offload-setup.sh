#!/bin/bash
# Installs everything OVS Offload Migration needs on a Debian 12 machine, unpacks the
# OVS 3.1 tree from Debian's openvswitch-source package and builds the parts of it the
# project links against and the tests run.  Idempotent: a second run only checks.
#
# Usage: utilities/ovs-offload-setup.sh [OVS_DIR]      (default /opt/ovs-offload/ovs)
set -euo pipefail

OVS_DIR=${1:-${OVS_DIR:-/opt/ovs-offload/ovs}}

PACKAGES="build-essential autoconf automake libtool pkg-config python3
          openvswitch-source libssl-dev libcap-ng-dev libxml2-dev
          libibverbs-dev librdmacm-dev
          gnuplot-nox conntrack iproute2 ethtool tcpdump procps psmisc
          util-linux kmod iputils-ping iperf3 netcat-openbsd"

missing=
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Debian's own python3 runs OVS's build scripts, whatever python3 comes first in PATH.
export PATH=/usr/bin:/bin:/usr/sbin:/sbin:$PATH

stamp=$OVS_DIR/.ovs-offload-built
if [ -f "$stamp" ]; then
    echo "setup: OVS tree ready in $OVS_DIR"
    exit 0
fi

tarball=/usr/src/openvswitch/openvswitch.tar.gz
echo "setup: unpacking $tarball into $OVS_DIR"
rm -rf "$OVS_DIR"
mkdir -p "$OVS_DIR"
tar -xzf "$tarball" -C "$OVS_DIR" --strip-components=1

cd "$OVS_DIR"
[ -x configure ] || ./boot.sh >/dev/null
echo "setup: configuring OVS"
./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
            --enable-silent-rules >/dev/null
jobs=$(nproc)
echo "setup: building OVS (about a minute on 2 cores)"
# lib/libopenvswitch.la alone fails: the generated headers come first.
built=$(printf 'print-built-sources:\n\t@echo $(BUILT_SOURCES)\n' \
        | make -s -f Makefile -f - print-built-sources)
make -s -j"$jobs" $built >/dev/null
make -s -j"$jobs" lib/libopenvswitch.la ovsdb/libovsdb.la >/dev/null
make -s -j"$jobs" utilities/ovs-appctl utilities/ovs-ofctl utilities/ovs-vsctl \
     utilities/ovs-pki ovsdb/ovsdb-server ovsdb/ovsdb-tool ovsdb/ovsdb-client \
     ovsdb/ovsdb-idlc vswitchd/ovs-vswitchd tests/ovstest >/dev/null
touch "$stamp"
echo "setup: OVS tree built in $OVS_DIR"
