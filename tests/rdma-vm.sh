#!/bin/bash
# rdma-vm.sh: runs a shell script as root in a QEMU guest with Soft-RoCE.
#
# Usage: tests/rdma-vm.sh [OPTION]... SCRIPT
#        tests/rdma-vm.sh --check
#
# The guest boots the Debian kernel (its uncompressed vmlinux if there is
# one) and the busybox initramfs that
# utilities/ovs-offload-setup.sh caches in RDMA_VM_CACHE (default
# /opt/ovs-offload/rdma-vm).  Its root is the host's / over 9p, read-only,
# under a tmpfs overlay, so the guest may write anywhere and the host sees
# none of it (/run is an empty tmpfs); DIR (default: the current directory) is shared read-write at
# the same path.  Before SCRIPT runs, lo is up, dummy0 is up with
# 192.0.2.1/24 (nothing leaves the guest: it has no NIC) and the Soft-RoCE
# device rxe0 sits on dummy0, unless --no-rxe or RDMA_VM_NO_RXE=1 (the
# modules are loaded all the same).
#
# SCRIPT (relative to DIR, or absolute) runs under bash, as root, in DIR,
# with stdin /dev/null, PATH as the caller's (plus the sbin directories),
# HOME=/root, and every exported OVS_* variable of the caller and any named
# in RDMA_VM_ENV (space-separated names), except that OVS_RUNDIR is
# /run/ovs-offload in the guest: 9p cannot hold a unix socket, so no
# daemon's control socket can be in DIR.  Its output goes to NAME.out and
# to the console; the whole serial console is saved in NAME.log, both in
# DIR.  This script prints SCRIPT's output on stdout and one line of
# timings on stderr, and exits with SCRIPT's status.  It exits with 125
# and a one-line error if it cannot run the guest or the guest reports no
# status (a crash, or the timeout), and with 77 if QEMU or the cache is
# missing.  --check only tells whether QEMU and the cache are there
# (0, or 77 with the reason on stderr).
#
# Options:
#   -d, --dir=DIR        the read-write directory (default: .)
#   -n, --name=NAME      names NAME.log, NAME.out and NAME.status in DIR
#                        (default: SCRIPT's name without .sh)
#   -t, --timeout=SECS   kills the guest after SECS (default 300, or
#                        RDMA_VM_TIMEOUT)
#   -m, --memory=MIB     guest memory (default 3072)
#   -c, --cpus=N         guest vCPUs (default 2)
#       --no-rxe         no rxe device (as RDMA_VM_NO_RXE=1)
#
# Environment: RDMA_VM_CACHE; RDMA_VM_QEMU (default qemu-system-x86_64);
# RDMA_VM_ACCEL (default "-accel tcg,thread=multi -cpu max": this kind of
# machine's /dev/kvm hangs a Linux guest); RDMA_VM_APPEND (more kernel
# parameters); RDMA_VM_ENV; RDMA_VM_NO_RXE.

set -u

prog=rdma-vm
die () { echo "$prog: $*" >&2; exit 125; }
skip () { echo "$prog: skipped: $*" >&2; exit 77; }

dir=. name= timeout=${RDMA_VM_TIMEOUT:-300} memory=3072 cpus=2 no_rxe=${RDMA_VM_NO_RXE:-0} check=false
cache=${RDMA_VM_CACHE:-/opt/ovs-offload/rdma-vm}
qemu=${RDMA_VM_QEMU:-qemu-system-x86_64}
accel=${RDMA_VM_ACCEL:-"-accel tcg,thread=multi -cpu max"}

while [ $# -gt 0 ]; do
    case $1 in
        -d|-n|-t|-m|-c)
            [ $# -ge 2 ] || die "option $1 needs a value"
            opt=$1 val=$2
            shift 2 ;;
        --dir=*|--name=*|--timeout=*|--memory=*|--cpus=*)
            opt=${1%%=*} val=${1#*=}
            shift ;;
        --no-rxe) no_rxe=1; shift; continue ;;
        --check) check=true; shift; continue ;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        --) shift; break ;;
        -*) die "unknown option $1 (try --help)" ;;
        *) break ;;
    esac
    case $opt in
        -d|--dir) dir=$val ;;
        -n|--name) name=$val ;;
        -t|--timeout) timeout=$val ;;
        -m|--memory) memory=$val ;;
        -c|--cpus) cpus=$val ;;
    esac
done
case $no_rxe in 0|'') no_rxe=0 ;; *) no_rxe=1 ;; esac

command -v "$qemu" >/dev/null 2>&1 \
    || skip "no $qemu (run utilities/ovs-offload-setup.sh)"
for f in vmlinuz modules.cpio.gz; do
    [ -r "$cache/$f" ] \
        || skip "no guest kernel cache $cache/$f (run utilities/ovs-offload-setup.sh)"
done
# The uncompressed kernel, started at its PVH entry, boots seconds faster
# under TCG than the bzImage.
kernel=$cache/vmlinuz
[ -r "$cache/vmlinux" ] && kernel=$cache/vmlinux
if $check; then
    exit 0
fi

[ $# -eq 1 ] || die "usage: $0 [OPTION]... SCRIPT (try --help)"
script=$1
for n in "$timeout" "$memory" "$cpus"; do
    case $n in ''|*[!0-9]*) die "not a number: $n" ;; esac
done
[ -d "$dir" ] || die "no directory $dir"
dir=$(cd "$dir" && pwd -P) || die "cannot enter $dir"
case $dir in
    *[!A-Za-z0-9_./+@=-]*) die "the shared directory's path has odd characters: $dir" ;;
esac
case $script in /*) ;; *) script=$dir/$script ;; esac
[ -r "$script" ] || die "no script $script"
[ -n "$name" ] || { name=$(basename "$script"); name=${name%.sh}; }
case $name in */*|'') die "bad name $name" ;; esac

log=$dir/$name.log out=$dir/$name.out status=$dir/$name.status
rm -f "$log" "$out" "$status"

# Which bios: qboot boots in a fraction of SeaBIOS's time.
bios=
for f in /usr/share/qemu/qboot.rom /usr/share/qemu/bios-qboot.rom; do
    [ -r "$f" ] && { bios="-bios $f"; break; }
done

# The guest's PATH: the caller's, then the usual directories.
gpath=$PATH
for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    case :$gpath: in *:$d:*) ;; *) gpath=$gpath:$d ;; esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rdma-vm.XXXXXX") || die "cannot make a temporary directory"
trap 'rm -rf "$tmp"' EXIT

# The environment SCRIPT gets, as bash source.
{
    printf 'export PATH=%q HOME=/root TERM=dumb LC_ALL=C\n' "$gpath"
    for v in $(compgen -e | grep '^OVS_') ${RDMA_VM_ENV:-}; do
        case $v in *[!A-Za-z0-9_]*|PATH|HOME) continue ;; esac
        [ -n "${!v+set}" ] && printf 'export %s=%q\n' "$v" "${!v}"
    done
    # No unix socket can be bound on 9p: daemons' control sockets and
    # pid files go in the guest's own /run.
    echo 'export OVS_RUNDIR=/run/ovs-offload'
} > "$tmp/env"

# The per-boot part of the initramfs: /init, its settings and the
# environment, appended to the cached modules archive (the kernel unpacks
# concatenated archives in order).
mkdir -p "$tmp/initrd/proc" "$tmp/initrd/sys" "$tmp/initrd/dev"
cp "$tmp/env" "$tmp/initrd/env"
{
    printf 'WORK=%s\n' "$dir"
    printf 'SCRIPT=%q\n' "$script"
    printf 'OUT=%q\n' "$out"
    printf 'STATUS=%q\n' "$status"
    printf 'NO_RXE=%s\n' "$no_rxe"
} > "$tmp/initrd/config"
cat > "$tmp/initrd/init" <<'EOF'
#!/bin/busybox sh
# rdma-vm guest init (written by tests/rdma-vm.sh).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
. /config
say () { echo "rdma-vm-guest: $*"; }
fail () { say "FAILED: $*"; poweroff -f; }
for m in $(cat /mods/order); do
    insmod /mods/$m || say "insmod $m failed"
done

# The root: the host's / read-only, a tmpfs over it.
O=trans=virtio,version=9p2000.L,msize=262144
mkdir -p /lower /rw /newroot
mount -t 9p -o $O,ro,cache=loose hostroot /lower || fail "cannot mount the host's /"
mount -t tmpfs -o mode=755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot \
    || fail "cannot mount the overlay root"
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
# The host's /run holds its daemons' pid files and sockets: the guest
# gets an empty one.  /tmp and the rest show the host's files.
mount -t tmpfs tmpfs $R/run
mkdir -p $R/run/ovs-offload
mkdir -p $R$WORK
mount -t 9p -o $O work $R$WORK || fail "cannot mount $WORK"
cp /env $R/run/rdma-vm.env

chroot $R /bin/sh -ec "
    ip link set lo up
    ip link show dummy0 >/dev/null 2>&1 || ip link add dummy0 type dummy
    ip addr add 192.0.2.1/24 dev dummy0
    ip link set dummy0 up
    if [ $NO_RXE = 0 ]; then rdma link add rxe0 type rxe netdev dummy0; fi
" || fail "cannot set up dummy0 and rxe0"

say "up after $(cut -d' ' -f1 /proc/uptime)s, running $SCRIPT"
chroot $R /bin/bash -c '. /run/rdma-vm.env; cd "$1" || exit 125
    bash "$2" </dev/null 2>&1 | tee "$3"; exit ${PIPESTATUS[0]}' \
    rdma-vm "$WORK" "$SCRIPT" "$OUT"
rc=$?
echo $rc > $R$STATUS
sync
say "exit status $rc after $(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
EOF
chmod +x "$tmp/initrd/init"
(cd "$tmp/initrd" && find . | cpio -o -H newc --quiet | gzip -1) > "$tmp/init.cpio.gz" \
    || die "cannot make the initramfs (is cpio installed?)"
cat "$cache/modules.cpio.gz" "$tmp/init.cpio.gz" > "$tmp/initrd.cpio.gz" \
    || die "cannot read $cache/modules.cpio.gz"

start=$(date +%s.%N)
# shellcheck disable=SC2086
timeout -k 5 "$timeout" "$qemu" $accel -m "$memory" -smp "$cpus" \
    -nodefaults -display none -no-reboot $bios \
    -kernel "$kernel" -initrd "$tmp/initrd.cpio.gz" \
    -append "console=ttyS0 quiet loglevel=4 panic=-1 rdinit=/init ${RDMA_VM_APPEND:-}" \
    -serial "file:$log" -nic none \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$dir,mount_tag=work,security_model=none,multidevs=remap" \
    </dev/null >"$tmp/qemu.err" 2>&1
qrc=$?
end=$(date +%s.%N)
if [ -f "$log" ]; then
    tr -d '\r' < "$log" > "$tmp/log" && cat "$tmp/log" > "$log"
fi

[ -f "$out" ] && cat "$out"
up=$(sed -n 's/^rdma-vm-guest: up after \([0-9.]*\)s.*/\1/p' "$log" 2>/dev/null | tail -1)
total=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
if [ ! -s "$status" ]; then
    case $qrc in
        124|137) die "the guest did not finish within ${timeout}s (console: $log)" ;;
        0) why=$(grep -a '^rdma-vm-guest: FAILED' "$log" | tail -1)
           die "the guest stopped without a status${why:+ (${why#rdma-vm-guest: })} (console: $log)" ;;
        *) die "qemu exited with status $qrc, no status from the guest: $(tail -1 "$tmp/qemu.err") (console: $log)" ;;
    esac
fi
rc=$(cat "$status")
echo "$prog: $name: exit status $rc, guest up after ${up:-?}s, ${total}s in all" >&2
exit "$rc"
