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
kill9() {
    local pid
    pid=$(cat "$work/ovs-offloadd.pid")
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

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
kill9
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
sleep 0.5

step "live traffic: a VM namespace and a remote host around the provider"
# vm (10.9.0.1) --- p1 [pnic: ovs-offloadd] u0 --- remote (10.9.0.100)
ns=ood$$
for n in pnic vm remote; do ip netns add $ns-$n; ip -n $ns-$n link set lo up; done
cleanup_ns() { for n in pnic vm remote; do ip netns del $ns-$n 2>/dev/null; done; }
trap 'cleanup_ns; cleanup' EXIT
ip -n $ns-vm link add e0 type veth peer name p1 netns $ns-pnic
ip -n $ns-remote link add e0 type veth peer name u0 netns $ns-pnic
ip -n $ns-vm addr add 10.9.0.1/24 dev e0
ip -n $ns-remote addr add 10.9.0.100/24 dev e0
for n in vm remote; do ip -n $ns-$n link set e0 up; done
ip -n $ns-pnic link set p1 up; ip -n $ns-pnic link set u0 up
vm_mac=$(ip netns exec $ns-vm cat /sys/class/net/e0/address)
rm -rf "$state"
start() {
    ip netns exec $ns-pnic ovs-offload/ovs-offloadd --detach --no-chdir \
        --pidfile --log-file -vconsole:off --state-dir="$state"
}
start
appctl offload/add-vif vm p1 $vm_mac ip=10.9.0.1
appctl offload/add-port p1
appctl offload/add-port u0 uplink
echo "offloads on the VM's veth, left as the kernel sets them:"
ip netns exec $ns-vm ethtool -k e0 | grep -E '^(tx-checksumming|tcp-segmentation-offload):'

ip netns exec $ns-remote tests/ovstest-offload test-port tcp-sink \
    10.9.0.100 5001 2000000000 --timeout=15 > "$work/sink.out" 2>&1 &
sleep 0.5
ip netns exec $ns-vm tests/ovstest-offload test-port tcp-source \
    10.9.0.100 5001 2000000000 --timeout=15 > "$work/source.out" 2>&1 &
source_pid=$!
sleep 1
echo "a 2 GB TCP stream from the VM is under way; its connection on the PNIC:"
appctl offload/dump-conntrack vm | grep dport=5001
echo "kill -9 the provider in the middle of the stream, and restart it"
kill9
sleep 0.5
start
wait $source_pid || true
sleep 0.5
cat "$work/sink.out" | grep -v listening
appctl offload/list-ports
if grep -q "intact" "$work/sink.out"; then
    echo "demo: the stream survived the restart, every byte intact"
else
    echo "demo: the stream broke" >&2
    exit 1
fi
appctl exit
