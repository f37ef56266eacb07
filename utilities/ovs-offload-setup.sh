#!/bin/bash
# Installs everything OVS Offload Migration needs on a Debian 12 machine, unpacks the
# OVS 3.1 tree from Debian's openvswitch-source package and builds the parts of it the
# project links against and the tests run.  Idempotent: a second run only checks.
#
# It also builds the cache that tests/rdma-vm.sh boots RDMA tests from: a
# Debian kernel and an initramfs of busybox and the modules Soft-RoCE needs,
# in RDMA_VM_CACHE (default /opt/ovs-offload/rdma-vm), so that no test
# downloads anything.
#
# Usage: utilities/ovs-offload-setup.sh [OVS_DIR]      (default /opt/ovs-offload/ovs)
set -euo pipefail

OVS_DIR=${1:-${OVS_DIR:-/opt/ovs-offload/ovs}}
RDMA_VM_CACHE=${RDMA_VM_CACHE:-/opt/ovs-offload/rdma-vm}

PACKAGES="build-essential autoconf automake libtool pkg-config python3
          openvswitch-source libssl-dev libcap-ng-dev libxml2-dev
          libibverbs-dev librdmacm-dev
          gnuplot-nox conntrack iproute2 ethtool tcpdump procps psmisc
          util-linux kmod iputils-ping iperf3 netcat-openbsd
          qemu-system-x86 qemu-system-data busybox-static cpio gzip xz-utils
          binutils
          rdma-core ibverbs-utils ibverbs-providers rdmacm-utils perftest"

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

# The RDMA guest's cache: vmlinuz; vmlinux, the same kernel uncompressed,
# which QEMU starts at its PVH entry (under TCG that saves the 4-7 s the
# decompressor takes); and modules.cpio.gz with busybox and the modules
# below (dependencies first, in load order in /mods/order).
# tests/rdma-vm.sh adds its own /init at each boot.  Rebuilt only when
# RDMA_VM_STAMP changes.
RDMA_VM_MODULES="virtio_pci 9pnet_virtio 9p overlay dummy crc32_generic
                 rdma_rxe ib_uverbs rdma_ucm"
RDMA_VM_STAMP="rdma-vm cache v2: "$(echo $RDMA_VM_MODULES)
if [ "$(cat "$RDMA_VM_CACHE/stamp" 2>/dev/null)" = "$RDMA_VM_STAMP" ]; then
    echo "setup: RDMA guest kernel ready in $RDMA_VM_CACHE"
else
    echo "setup: building the RDMA guest kernel cache in $RDMA_VM_CACHE"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/rdma-vm-cache.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    apt-get update -qq
    pkg=$(apt-cache depends linux-image-amd64 \
          | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
    [ -n "$pkg" ] || { echo "setup: no linux-image package found" >&2; exit 1; }
    kver=${pkg#linux-image-}
    (cd "$tmp" && apt-get -qq -o APT::Sandbox::User=root download "$pkg")
    dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/kernel"
    depmod -b "$tmp/kernel" "$kver"         # the package ships no modules.dep
    mkdir -p "$tmp/initrd/bin" "$tmp/initrd/mods"
    cp /bin/busybox "$tmp/initrd/bin/busybox"
    for m in $RDMA_VM_MODULES; do
        modprobe -d "$tmp/kernel" -S "$kver" --show-depends "$m" \
            | awk '$1 == "insmod" { print $2 }'
    done | awk '!seen[$0]++' | while read -r ko; do
        cp "$ko" "$tmp/initrd/mods/"
        basename "$ko"
    done > "$tmp/initrd/mods/order"
    (cd "$tmp/initrd" && find . | cpio -o -H newc --quiet | gzip -1) \
        > "$tmp/modules.cpio.gz"
    # The xz stream inside the bzImage, if it is one, with a PVH entry note.
    vmlinuz=$tmp/kernel/boot/vmlinuz-$kver
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1 || true)
    if [ -n "$off" ] \
       && tail -c +$((off + 1)) "$vmlinuz" > "$tmp/vmlinux.xz" \
       && xz -dc --single-stream < "$tmp/vmlinux.xz" > "$tmp/vmlinux" \
       && readelf -n "$tmp/vmlinux" 2>/dev/null | grep -q 'Xen.*(0x00000012)'; then
        :
    else
        echo "setup: no PVH vmlinux in $pkg: the guest boots the bzImage (slower)"
        rm -f "$tmp/vmlinux"
    fi
    mkdir -p "$RDMA_VM_CACHE"
    rm -f "$RDMA_VM_CACHE/vmlinux"
    if [ -f "$tmp/vmlinux" ]; then
        cp "$tmp/vmlinux" "$RDMA_VM_CACHE/vmlinux.new"
        mv "$RDMA_VM_CACHE/vmlinux.new" "$RDMA_VM_CACHE/vmlinux"
    fi
    cp "$vmlinuz" "$RDMA_VM_CACHE/vmlinuz.new"
    cp "$tmp/modules.cpio.gz" "$RDMA_VM_CACHE/modules.cpio.gz.new"
    mv "$RDMA_VM_CACHE/vmlinuz.new" "$RDMA_VM_CACHE/vmlinuz"
    mv "$RDMA_VM_CACHE/modules.cpio.gz.new" "$RDMA_VM_CACHE/modules.cpio.gz"
    echo "$kver" > "$RDMA_VM_CACHE/kernel-version"
    echo "$RDMA_VM_STAMP" > "$RDMA_VM_CACHE/stamp"
    rm -rf "$tmp"
    trap - EXIT
    echo "setup: RDMA guest kernel $kver ready in $RDMA_VM_CACHE"
fi

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
