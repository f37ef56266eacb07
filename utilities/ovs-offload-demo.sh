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

step "live migration: a VM's connections move from PNIC A to PNIC B"
# vm e0 (10.9.0.1) --- p1 [pa: agent A] ua --+
#                                            +-- br0 [fabric] -- remote (10.9.0.100)
#                      [pb: agent B] ub -----+
# pa mA 10.99.0.1 ----------------------- mB 10.99.0.2 pb   (control connection)
ns=ood$$
names="vm remote fabric pa pb"
for n in $names; do ip netns add $ns-$n; ip -n $ns-$n link set lo up; done
cleanup_ns() {
    for d in a b; do
        if [ -f "$work/$d/ovs-offloadd.pid" ]; then
            kill "$(cat "$work/$d/ovs-offloadd.pid")" 2>/dev/null || true
        fi
    done
    kill $(jobs -p) 2>/dev/null || true
    for n in $names; do ip netns del $ns-$n 2>/dev/null || true; done
}
trap 'cleanup_ns; cleanup' EXIT
veth() {    # veth NAME NS PEER PEER_NS
    ip -n $ns-$2 link add $1 type veth peer name $3 netns $ns-$4
    ip -n $ns-$2 link set $1 up; ip -n $ns-$4 link set $3 up
}
veth e0 vm p1 pa
veth ua pa fa fabric
veth ub pb fb fabric
veth e0 remote fr fabric
veth mA pa mB pb
ip -n $ns-fabric link add br0 type bridge; ip -n $ns-fabric link set br0 up
for p in fa fb fr; do ip -n $ns-fabric link set $p master br0; done
ip -n $ns-vm addr add 10.9.0.1/24 dev e0
ip -n $ns-remote addr add 10.9.0.100/24 dev e0
ip -n $ns-pa addr add 10.99.0.1/24 dev mA
ip -n $ns-pb addr add 10.99.0.2/24 dev mB
vm_mac=$(ip netns exec $ns-vm cat /sys/class/net/e0/address)

mkdir -p "$work/a" "$work/b"
agent() {   # agent a|b NS [OPTION...]
    local d=$1 n=$2
    shift 2
    (cd "$work/$d" && OVS_RUNDIR=$PWD OVS_LOGDIR=$PWD ip netns exec $n \
        "$top/ovs-offload/ovs-offloadd" --detach --no-chdir --pidfile \
        --log-file -vconsole:off --state-dir="$PWD/state" "$@" 2>/dev/null)
}
appA() { OVS_RUNDIR=$work/a "$OVS_BUILDDIR/utilities/ovs-appctl" -t ovs-offloadd "$@"; }
appB() { OVS_RUNDIR=$work/b "$OVS_BUILDDIR/utilities/ovs-appctl" -t ovs-offloadd "$@"; }
agent a $ns-pa --listen=ptcp:7777:10.99.0.1
agent b $ns-pb
appA offload/add-vif vm p1 $vm_mac ip=10.9.0.1 allow=icmp
appA offload/add-port p1
appA offload/add-port ua uplink
appB offload/add-port ub uplink
echo "PNIC A: VIF vm on p1, stateful firewall; PNIC B: only its uplink"

ip netns exec $ns-remote tests/ovstest-offload test-port tcp-sink \
    10.9.0.100 5001 3000000000 --timeout=15 > "$work/sink.out" 2>&1 &
ip netns exec $ns-remote nc -u -l -w 8 10.9.0.100 5353 > "$work/udp.out" &
sleep 0.5
ip netns exec $ns-vm tests/ovstest-offload test-port tcp-source \
    10.9.0.100 5001 3000000000 --timeout=15 > "$work/source.out" 2>&1 &
ip netns exec $ns-vm sh -c 'for i in 1 2 3 4 5 6 7 8; do echo udp $i; sleep 0.5; done | nc -u -w 1 10.9.0.100 5353' &
sleep 1
echo "a 3 GB TCP stream and a UDP flow from the VM run through PNIC A:"
appA offload/dump-conntrack vm | sed 's/,protoinfo=.*//'

token=$(appA migrate/export vm)
echo "A exports vm: token $token"
appB migrate/start vm tcp:10.99.0.1:7777 token=$token
echo "B: migrate/start (pre-copy); the VIF waits on B as a standby, kept in step"
wait_for() { for i in $(seq 150); do eval "$1" && return 0; sleep 0.1; done; return 1; }
wait_for 'appB migrate/status vm | grep -q converged=yes' || true
appB migrate/status vm | sed -n 3p
echo "the VM's link moves from A to B, as a live migration moves its NIC"
ip -n $ns-pa link set p1 netns $ns-pb
ip -n $ns-pb link set p1 up
appB offload/bind-vif vm p1
appB offload/add-port p1
for i in $(seq 50); do
    appB migrate/status vm | grep -q 'phase=done' && break
    sleep 0.1
done
wait_for 'appA migrate/status vm 2>/dev/null | grep -q phase=released' || true
echo
appB migrate/status vm
appA migrate/status vm
wait_for 'grep -q intact "$work/sink.out"' || true
sleep 3

echo
echo "== report"
appB migrate/status vm --json | python3 -c '
import json, sys
m = json.load(sys.stdin)[0]
print("entries moved:  %d" % m["entries"])
print("bytes moved:    %d" % m["bytes"])
print("pre-copy:       %d passes, the last one after the fence" % m["passes"])
print("blackout:       %.3f ms" % (m["blackout_us"] / 1000.0))
print("frames held:    %d, released in order: %d" % (m["held"], m["released"]))'
udp=$(grep -c '^udp' "$work/udp.out" || true)
echo "UDP datagrams that arrived: $udp of 8"
echo "VIFs left on A: $(appA offload/list-vifs | wc -l)"
if grep -q intact "$work/sink.out"; then
    echo "demo: the TCP stream survived the migration: $(grep intact "$work/sink.out")"
else
    echo "demo: the TCP stream broke" >&2
    exit 1
fi
