#!/usr/bin/env bash
# Emulates the slowest CPU seen (a 2-core first-generation EPYC: avx2 and fma, no AVX-512, about
# 34 GFLOP/s training the demo network in float32) on a faster Linux machine, to measure the demo
# and the suite there. Needs root and cgroup v1's cpu controller. Not the real CPU: it hides the
# AVX-512/AMX flags from /proc/cpuinfo (so the project chooses float32), caps oneDNN's vector
# instructions, and gives the command a CPU quota (QUOTA % of a core). The flags are hidden in a
# mount namespace of the command's own (unshare), so the rest of the machine still sees them.
#
#   tests/benchmarks/slow_cpu.sh 44 --machine pytest            # the whole 2-core machine
#   tests/benchmarks/slow_cpu.sh 45 unet run                    # one process: oneDNN at AVX2
#   tests/benchmarks/slow_cpu.sh 45 --per-worker pytest         # each xdist worker its own 45 %
#   tests/benchmarks/slow_cpu.sh 58 --machine --isa AVX2 CMD    # a later AVX2-only EPYC (Zen 3)
#
# One process (calibrated on a Zen 5 EPYC): at 45 % of one core with oneDNN at AVX2 the demo
# trained at 16-20 images/s, the real CPU at 17-18; its start-up then runs at 45 % of a core too.
# --machine: oneDNN at AVX (no FMA: 39 images/s on both cores unthrottled, where AVX2 gives 77)
# and QUOTA % of each of the two cores for everything the command starts, shared: the demo's step
# then runs at the real CPU's speed and single-threaded work at QUOTA % of a core, so two pytest
# workers compete for the machine as they do on the real one. Its one optimism: a lone
# single-threaded process may take both cores' quota. Valid on a 2-core host, as measured: on more
# cores the threads spread the same quota thinner.
# --per-worker: AVX2, each xdist worker QUOTA % of a core of its own: two workers training at
# once get twice the real compute, so it is the optimistic bound.
# --isa ISA (after the mode): oneDNN's cap instead of the mode's. `58 --machine --isa AVX2` trained
# the demo at 40 images/s on a Zen 4 host (2026-12-07), as the AVX2-only Zen 3 EPYC's 38: the
# machine the 30-minute targets of docs/own-data.md are measured for.
set -euo pipefail
usage="usage: slow_cpu.sh QUOTA [--machine | --per-worker] [--isa ISA] COMMAND..."
[ $# -ge 2 ] && [[ $1 =~ ^[0-9]+$ ]] || { echo "$usage" >&2; exit 2; }
quota=$1; shift
mode=process
case "$1" in
    --machine|--per-worker) mode=${1#--}; shift ;;
esac
isa=""
if [ "${1:-}" = --isa ]; then
    [ $# -ge 2 ] && [[ $2 =~ ^[A-Z0-9_]+$ ]] || { echo "$usage" >&2; exit 2; }
    isa=$2; shift 2
fi
[ $# -ge 1 ] && [[ $1 != --* ]] || { echo "$usage" >&2; exit 2; }
if [ -z "${SLOW_CPU_UNSHARED:-}" ]; then  # a private mount namespace for the trimmed /proc/cpuinfo
    SLOW_CPU_UNSHARED=1 exec unshare --mount --propagation private bash "$0" "$quota" \
        $([ "$mode" = process ] || echo "--$mode") $([ -z "$isa" ] || echo "--isa $isa") "$@"
fi
group=/sys/fs/cgroup/cpu/slow_cpu
flags=$(mktemp)
sed -E '/^flags/ s/ (avx512[a-z0-9_]*|amx[a-z0-9_]*|avx_vnni|vaes|vpclmulqdq|gfni)\b//g' /proc/cpuinfo > "$flags"
mount --bind "$flags" /proc/cpuinfo
trap 'rm -f "$flags"' EXIT
export ONEDNN_MAX_CPU_ISA=AVX2
if [ "$mode" = machine ]; then export ONEDNN_MAX_CPU_ISA=AVX; quota=$((quota * 2)); fi
if [ -n "$isa" ]; then export ONEDNN_MAX_CPU_ISA=$isa; fi
mkdir -p "$group"
rmdir "$group"/w* 2> /dev/null || true  # a per-worker run's groups: a child's quota may not exceed ours
echo -1 > "$group/cpu.cfs_quota_us"
echo 100000 > "$group/cpu.cfs_period_us"
if [ "$mode" != per-worker ]; then
    echo $((quota * 1000)) > "$group/cpu.cfs_quota_us"
    echo $$ > "$group/cgroup.procs"
    time "$@"
    exit
fi
echo $$ > "$group/cgroup.procs"  # unlimited itself (set above): each worker gets its own quota below
start=$(date +%s)
"$@" &
main=$!
declare -A placed=()
count=0
while kill -0 "$main" 2> /dev/null; do
    for pid in $(pgrep -P "$main" || true); do  # the xdist workers; what they start stays in their group
        if [ -z "${placed[$pid]:-}" ]; then
            worker="$group/w$count"
            mkdir -p "$worker"
            echo 100000 > "$worker/cpu.cfs_period_us"
            echo $((quota * 1000)) > "$worker/cpu.cfs_quota_us"
            echo "$pid" > "$worker/cgroup.procs" 2> /dev/null || true
            placed[$pid]=1
            count=$((count + 1))
        fi
    done
    sleep 0.2
done
echo "wall $(( $(date +%s) - start )) s"
wait "$main"
