#!/bin/bash
# The demo of the main job, as far as it goes today: the offload provider
# tracks a VM's connections under the stateful policy, keeps them in its
# state region, and comes back with every one of them after kill -9.
#
# Sets up and builds everything first; runs as root on Debian 12.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

utilities/ovs-offload-build.sh
export PATH=/usr/bin:/bin:/usr/sbin:/sbin:$PATH
OVS_BUILDDIR=$(sed -n 's/^OVS_BUILDDIR = //p' Makefile)

work=$(mktemp -d /tmp/ovs-offload-demo.XXXXXX)
export OVS_RUNDIR=$work OVS_LOGDIR=$work
state=/dev/shm/ovs-offload-demo.$$
appctl() { "$OVS_BUILDDIR/utilities/ovs-appctl" -t ovs-offloadd "$@"; }
start() {
    ovs-offload/ovs-offloadd --detach --no-chdir --pidfile --log-file -vconsole:off \
        --state-dir="$state"
}
cleanup() {
    [ -f "$work/ovs-offloadd.pid" ] && kill "$(cat "$work/ovs-offloadd.pid")" \
        2>/dev/null || true
    rm -rf "$state" "$work"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

VM=50:54:00:00:00:01 GW=50:54:00:00:00:02
from_vm() { echo "$1,dl_src=$VM,dl_dst=$GW,nw_src=10.0.0.1,nw_ttl=64,$2"; }
to_vm() { echo "$1,dl_src=$GW,dl_dst=$VM,nw_dst=10.0.0.1,nw_ttl=64,$2"; }

step "start ovs-offloadd (state in $state)"
start
appctl offload/add-vif vm1 tap-vm1 $VM ip=10.0.0.1 allow=tcp:22
appctl offload/list-vifs

step "generated traffic: DNS, an HTTP session, inbound SSH, a blocked port, a forged segment"
tests/ovstest-offload test-pcap pcap-write "$work/traffic.pcap" <<EOF
$(from_vm udp nw_dst=192.0.2.53,udp_src=33000,udp_dst=53)
$(to_vm udp nw_src=192.0.2.53,udp_src=53,udp_dst=33000)
$(from_vm tcp nw_dst=192.0.2.80,tp_src=40000,tp_dst=80,tcp_flags=syn) seq=1000 win=64240
$(to_vm tcp nw_src=192.0.2.80,tp_src=80,tp_dst=40000,tcp_flags='syn|ack') seq=5000 ack=1001 win=65160
$(from_vm tcp nw_dst=192.0.2.80,tp_src=40000,tp_dst=80,tcp_flags=ack) seq=1001 ack=5001 win=502
$(from_vm tcp nw_dst=192.0.2.80,tp_src=40000,tp_dst=80,tcp_flags='psh|ack') seq=1001 ack=5001 win=502 len=120
$(to_vm tcp nw_src=192.0.2.80,tp_src=80,tp_dst=40000,tcp_flags='psh|ack') seq=5001 ack=1121 win=510 len=900
$(to_vm tcp nw_src=198.51.100.7,tp_src=51000,tp_dst=22,tcp_flags=syn) seq=777 win=64240
$(to_vm tcp nw_src=198.51.100.7,tp_src=51001,tp_dst=3306,tcp_flags=syn) seq=778 win=64240
$(to_vm tcp nw_src=192.0.2.80,tp_src=80,tp_dst=40000,tcp_flags=rst) seq=99999999 win=0
EOF
echo "replay: one line per frame: number, ct_state, verdict"
appctl offload/replay vm1 "$work/traffic.pcap" --verdicts

step "the conntrack state of vm1"
appctl offload/dump-conntrack vm1 --stats | tee "$work/before"
appctl offload/ct-stats

step "kill -9 the provider and start it again on the same state"
kill -9 "$(cat "$work/ovs-offloadd.pid")"
sleep 0.5
start
appctl offload/dump-conntrack vm1 --stats | tee "$work/after"
strip() { sed 's/timeout=[0-9]*/timeout=T/' "$1"; }
if diff <(strip "$work/before") <(strip "$work/after") >/dev/null; then
    echo "demo: all $(wc -l < "$work/after") connections survived the restart"
else
    echo "demo: the state changed across the restart" >&2
    exit 1
fi
appctl exit
