# Shell functions the migration benchmarks share.  Source it after setting
# 'name' (the benchmark's name, for messages); it sets:
#
#   builddir, out (absolute), offloadd, ovstest, appctl, gnuplot (or empty),
#   python, work (a fresh folder in /dev/shm, removed on exit)
#
# and provides die, skip, median, now_ns, secs, json_field, add_ns (a
# network namespace removed on exit), start_agent/agent_appctl/agent_cpu_ms
# (ovs-offloadd agents in $work/NAME, killed on exit) and at_exit (more
# cleanup, run last).

set -e
LC_ALL=C
export LC_ALL

die() {
    echo "$name: $*" >&2
    exit 1
}
skip() {
    echo "$name: skipped: $*" >&2
    exit 77
}

root=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${OFFLOAD_BUILDDIR:-$root}
[ -f "$builddir/Makefile" ] || die "$builddir/Makefile: not found (configure first, or set OFFLOAD_BUILDDIR)"
ovs_builddir=$(sed -n 's/^OVS_BUILDDIR = //p' "$builddir/Makefile")
offloadd=$builddir/ovs-offload/ovs-offloadd
ovstest=$builddir/tests/ovstest-offload
appctl=$ovs_builddir/utilities/ovs-appctl
[ -x "$offloadd" ] || die "$offloadd: not built (make)"
[ -x "$ovstest" ] || die "$ovstest: not built (make tests/ovstest-offload)"
[ -x "$appctl" ] || die "$appctl: not built (the OVS tree)"
python=$(command -v python3) || skip "python3 not found"
gnuplot=$(sed -n "s/^GNUPLOT='\(.*\)'$/\1/p" "$builddir/tests/atlocal" \
          2>/dev/null)
[ -n "$gnuplot" ] && [ "$gnuplot" != none ] || gnuplot=$(command -v gnuplot || true)
out=${PERF_OUT:-.}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Regions are shared memory: keep the work there too.
shm=/dev/shm
[ -w $shm ] || shm=/tmp
work=$(mktemp -d $shm/perf-$name.XXXXXX)

perf_namespaces=
perf_agents=
perf_exit_hooks=
at_exit() {
    perf_exit_hooks="$perf_exit_hooks
$1"
}
perf_cleanup() {
    set +e
    for dir in $perf_agents; do
        [ -f "$work/$dir/ovs-offloadd.pid" ] || continue
        pid=$(cat "$work/$dir/ovs-offloadd.pid")
        kill "$pid" 2>/dev/null
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null
    done
    for ns in $perf_namespaces; do
        ip netns exec "$ns" conntrack -F >/dev/null 2>&1
        ip netns del "$ns" 2>/dev/null
    done
    eval "$perf_exit_hooks"
    if [ "${PERF_KEEP:-0}" = 1 ]; then
        echo "$name: work folder kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap perf_cleanup EXIT
trap 'exit 130' INT TERM HUP

add_ns() {
    ip netns add "$1" || skip "cannot create network namespaces"
    perf_namespaces="$perf_namespaces $1"
    ip -n "$1" link set dev lo up
}

now_ns() {
    date +%s%N
}
secs() {        # secs START_NS END_NS
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", (b - a) / 1e9 }'
}
median() {
    sort -g | awk '{ v[NR] = $1 }
                   END { if (NR % 2) print v[(NR + 1) / 2];
                         else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# json_field FIELD: the field of the first object of migrate/status --json
# on stdin, or nothing.
json_field() {
    "$python" -c '
import json, sys
v = json.load(sys.stdin)
v = v[0] if isinstance(v, list) and v else v
x = v.get(sys.argv[1]) if isinstance(v, dict) else None
print("" if x is None else x)' "$1"
}

# start_agent DIR NETNS [OPTIONS...]: ovs-offloadd in NETNS, its files in
# $work/DIR.  agent_appctl DIR COMMAND... talks to it.
start_agent() {
    local dir=$1 ns=$2
    shift 2
    mkdir -p "$work/$dir"
    (
        export OVS_RUNDIR=$work/$dir OVS_LOGDIR=$work/$dir
        ip netns exec "$ns" "$offloadd" --detach --no-chdir \
            --pidfile="$work/$dir/ovs-offloadd.pid" \
            --log-file="$work/$dir/ovs-offloadd.log" \
            --state-dir="$work/$dir/state" -vconsole:off "$@" \
            2>"$work/$dir/start.err"
    ) || die "ovs-offloadd $dir did not start: $(cat "$work/$dir/start.err")"
    perf_agents="$perf_agents $dir"
}
agent_appctl() {
    local dir=$1
    shift
    OVS_RUNDIR=$work/$dir "$appctl" -t ovs-offloadd "$@"
}
# agent_cpu_ms DIR: the agent's CPU time so far, in ms, from the
# scheduler's nanosecond count (/proc/PID/stat's ticks are too coarse).
agent_cpu_ms() {
    awk '{ printf "%.3f", $1 / 1e6 }' \
        "/proc/$(cat "$work/$1/ovs-offloadd.pid")/schedstat"
}
