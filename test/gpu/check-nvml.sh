#!/bin/bash
# Runs `jobscope node --gpu.backend=nvml` on a machine with NVIDIA GPUs and
# checks its per-GPU series against nvidia-smi: the same GPUs by UUID, index,
# PCI bus ID, model and memory size exactly; temperature, power, memory used
# and clocks within tolerances (they move between the two reads).
#
#   test/gpu/check-nvml.sh [path/to/jobscope]
#
# Needs bash and nvidia-smi only (HTTP through bash's /dev/tcp). Exit 0 when
# every check passes; prints one line per check. Build the binary where Go
# is: CGO_CFLAGS=-Wno-deprecated-declarations go build -o bin/jobscope ./cmd/jobscope
set -u
bin=${1:-bin/jobscope}
backend=${JOBSCOPE_GPU_BACKEND:-nvml} # simulated: self-test of this script with a fake nvidia-smi
port=${JOBSCOPE_GPU_CHECK_PORT:-19999}
smi=${NVIDIA_SMI:-nvidia-smi}
fail=0

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

command -v "$smi" >/dev/null || { echo "no nvidia-smi" >&2; exit 2; }
[ -x "$bin" ] || { echo "no $bin" >&2; exit 2; }

"$bin" node --gpu.backend="$backend" --web.listen-address=127.0.0.1:$port \
	--kubelet.pod-resources-socket= --no-collector.infiniband >/tmp/jobscope-gpu-check.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT

fetch() {
	exec 3<>/dev/tcp/127.0.0.1/$port || return 1
	printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
	sed '1,/^\r\{0,1\}$/d' <&3
	exec 3<&-
}
page=""
for _ in $(seq 1 50); do
	page=$(fetch 2>/dev/null) && [ -n "$page" ] && break
	sleep 0.2
done
[ -n "$page" ] || { echo "jobscope did not answer; log:" >&2; cat /tmp/jobscope-gpu-check.log >&2; exit 1; }

grep -q "^jobscope_gpu_backend_up{backend=\"$backend\"} 1" <<<"$page" && ok "backend up" || bad "jobscope_gpu_backend_up is not 1"
grep -q '^jobscope_scrape_collector_success{collector="gpu"} 1' <<<"$page" && ok "gpu collector succeeded" || bad "gpu collector failed (see /tmp/jobscope-gpu-check.log)"

# value METRIC UUID [extra label matcher]: the sample value of one series.
value() {
	grep "^$1{" <<<"$page" | grep "uuid=\"$2\"" | grep -- "${3:-}" | head -1 | awk '{print $NF}'
}
# within A B TOL: |A-B| <= TOL
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

n=0
while IFS=, read -r uuid index bus name memtotal memused power temp sm mem; do
	n=$((n + 1))
	uuid=$(echo $uuid); index=$(echo $index); bus=$(echo $bus); name=$(echo $name)
	info=$(grep '^jobscope_gpu_info{' <<<"$page" | grep "uuid=\"$uuid\"")
	if [ -z "$info" ]; then bad "$uuid: not exported"; continue; fi
	grep -q "gpu=\"$index\"" <<<"$info" && ok "$uuid index $index" || bad "$uuid index: $info"
	grep -qi "pci_bus_id=\"$bus\"" <<<"$info" && ok "$uuid bus $bus" || bad "$uuid bus $bus: $info"
	grep -q "model=\"$name\"" <<<"$info" && ok "$uuid model $name" || bad "$uuid model $name: $info"
	total=$(value jobscope_gpu_memory_total_bytes "$uuid")
	within "$total" "$(awk -v m="$(echo $memtotal)" 'BEGIN{print m*1048576}')" 1048576 && ok "$uuid memory total" || bad "$uuid memory total $total vs $memtotal MiB"
	used=$(value jobscope_gpu_memory_used_bytes "$uuid")
	within "$used" "$(awk -v m="$(echo $memused)" 'BEGIN{print m*1048576}')" $((512 * 1048576)) && ok "$uuid memory used" || bad "$uuid memory used $used vs $memused MiB"
	t=$(value jobscope_gpu_temperature_celsius "$uuid" 'sensor="gpu"')
	within "$t" "$(echo $temp)" 5 && ok "$uuid temperature" || bad "$uuid temperature $t vs $temp"
	case $power in *N/A* | *Not*) ok "$uuid power not supported" ;;
	*) p=$(value jobscope_gpu_power_watts "$uuid")
		within "$p" "$(echo $power)" "$(awk -v p="$(echo $power)" 'BEGIN{print 20 + p * 0.3}')" && ok "$uuid power" || bad "$uuid power $p vs $power W" ;;
	esac
	c=$(value jobscope_gpu_clock_hertz "$uuid" 'clock="memory"')
	within "$c" "$(awk -v m="$(echo $mem)" 'BEGIN{print m*1e6}')" 1e8 && ok "$uuid memory clock" || bad "$uuid memory clock $c vs $mem MHz"
	[ -n "$(value jobscope_gpu_clock_hertz "$uuid" 'clock="sm"')" ] && ok "$uuid sm clock present" || bad "$uuid sm clock missing"
	[ -n "$(value jobscope_gpu_energy_joules_total "$uuid")" ] && ok "$uuid energy present" || echo "note $uuid energy counter not supported"
	[ -n "$(grep "^jobscope_gpu_throttle_reason{" <<<"$page" | grep "uuid=\"$uuid\"")" ] && ok "$uuid throttle reasons" || bad "$uuid throttle reasons missing"
done < <("$smi" --query-gpu=uuid,index,pci.bus_id,name,memory.total,memory.used,power.draw,temperature.gpu,clocks.sm,clocks.mem \
	--format=csv,noheader,nounits)

exported=$(grep -c '^jobscope_gpu_up{.*uuid="GPU-' <<<"$page")
[ "$exported" -eq "$n" ] && ok "$n GPUs on both sides" || bad "nvidia-smi lists $n GPUs, jobscope exports $exported full GPUs"
[ "$n" -gt 0 ] || bad "no GPU"
echo "--- jobscope's page: $(grep -c '^jobscope_gpu' <<<"$page") jobscope_gpu series"
exit $fail
