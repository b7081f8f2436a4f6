#!/usr/bin/env bash
# The one prepared script for a lent GPU machine (device tool): unpacks .devpack/ (made here by
# scripts/device/pack.sh), sets up the Vulkan loader from .gl/, prints the adapter, then runs the
# kernel tests, bench-step, bench-rl and, with time left, the whole-model GPU tests, each under a
# timeout cut from one budget, and writes to $OUT (at most 8 files come back):
#   log.txt          everything printed
#   adapter.json     the adapter Dawn picked (vendor, architecture, description, features, limits)
#   results.jsonl    one line per phase: {"phase", "exit", "seconds", "summary" | "json"}
#   autotune.json    the matmul variants the autotuner picked on this adapter
# The call (DEVELOPERS.md, "Real GPUs"): run(command="bash scripts/device/run-device.sh",
#   carry=[".devpack", ".gl"], timeout_s=360)
# Settings (environment): FG_BUDGET_S (default 270: all phases end by then), FG_LOCAL=1 (a rehearsal
# here: skip unpacking .gl into /), FG_KERNEL_TESTS / FG_MODEL_TESTS (words naming test files; the
# defaults are bundle.ts's lists; '-' runs none), FG_RL_REPS (default 5), FG_STEP_ARGS, FG_SKIP
# (phases to skip, e.g. "bench-rl model-tests").
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?OUT is unset: the device tool sets it; for a rehearsal here, OUT=/tmp/out}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
BUDGET=${FG_BUDGET_S:-270}
PACK=.devpack
W=${FG_WORK:-/tmp/forkgrad-device}
START=$SECONDS
log() { echo "[device +$((SECONDS - START))s] $*"; }
left() { echo $((BUDGET - (SECONDS - START))); }
skip() { [[ " ${FG_SKIP:-} " == *" $1 "* ]]; }
record() { # phase exit seconds key value(JSON)
  printf '{"phase":"%s","exit":%d,"seconds":%d,"%s":%s}\n' "$1" "$2" "$3" "$4" "$5" >>"$OUT/results.jsonl"
}
json_str() { local s; s=$(tr -d '\n'); s=${s//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

[ -f "$PACK/node.xz" ] && [ -d "$PACK/app" ] || { echo "run-device.sh: $PACK/ is missing: run 'bash scripts/device/pack.sh' here and name .devpack and .gl in the run call's carry" >&2; exit 2; }
cat "$PACK/manifest.txt"
log "machine: $(uname -srm), $(nproc) cores; $(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | head -2 | tr '\n' ' ')"

# Vulkan loader (the image has the NVIDIA driver but may have no libvulkan)
if [ "${FG_LOCAL:-0}" != 1 ]; then
  if ls .gl/*.deb >/dev/null 2>&1; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
  if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1 &&
     [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    log "VK_DRIVER_FILES=$VK_DRIVER_FILES"
  fi
fi
log "libvulkan: $(ldconfig -p | grep -o 'libvulkan.so.1 .*' | head -1)"

# unpack: xz, or Python's lzma where the image has no xz
unxz_to() { if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi; }
rm -rf "$W" && mkdir -p "$W" && cp -r "$PACK/app" "$W/app"
mkdir -p "$W/app/node_modules/webgpu/dist/linux-x64"
unxz_to "$PACK/node.xz" "$W/node" && chmod +x "$W/node" &&
  unxz_to "$PACK/dawn.node.xz" "$W/app/node_modules/webgpu/dist/linux-x64/dawn.node" ||
  { echo "run-device.sh: unpacking failed" >&2; exit 2; }
NODE="$W/node"
log "node $("$NODE" --version) unpacked into $W"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
export FORKGRAD_AUTOTUNE_CACHE="$W/autotune.json"

# the adapter Dawn picks, the way kernels/device.ts asks for it
probe() {
  (cd "$W/app" && "$NODE" --input-type=module -e '
import { create, globals } from "webgpu";
Object.assign(globalThis, globals);
let gpu = create([]);
const a = await gpu.requestAdapter({ powerPreference: "high-performance" });
if (!a) { console.error("no WebGPU adapter: Vulkan found no driver"); process.exit(1); }
const limits = {}; for (const k in a.limits) limits[k] = a.limits[k];
const j = { ...Object.fromEntries(["vendor", "architecture", "device", "description"].map((k) => [k, a.info[k]])), features: [...a.features].sort(), limits };
console.log(JSON.stringify(j));
gpu = null; process.exit(0);') >"$OUT/adapter.json"
}
probe; rc=$?
NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ $rc -ne 0 ] && [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$NV_ICD" ]; then
  export VK_DRIVER_FILES=$NV_ICD __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  log "no adapter; again with VK_DRIVER_FILES=$VK_DRIVER_FILES"
  probe; rc=$?
fi
log "adapter (exit $rc): $(cat "$OUT/adapter.json")"
[ $rc -eq 0 ] || { log "no adapter: stopping (VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}; ICD files: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null | tr '\n' ' '))"; exit 3; }

source "$PACK/app/tests.env"
[ -n "${FG_KERNEL_TESTS:-}" ] && KERNEL_TESTS=$FG_KERNEL_TESTS
[ -n "${FG_MODEL_TESTS:-}" ] && MODEL_TESTS=$FG_MODEL_TESTS

# phase name, share of what is left (percent), minimum seconds, then the command
phase() {
  local name=$1 share=$2 min=$3; shift 3
  local l; l=$(left)
  if skip "$name"; then log "$name: skipped (FG_SKIP)"; return; fi
  if [ "$l" -lt "$min" ]; then log "$name: not run, ${l}s of the budget left (needs $min)"; record "$name" -1 0 summary '"not run: budget spent"'; return; fi
  local t=$((l * share / 100)); [ "$t" -lt "$min" ] && t=$min
  log "$name: up to ${t}s: $*"
  local t0=$SECONDS
  timeout -k 5 "$t" "$@" 2>&1 | tee "$W/$name.txt"
  local rc=${PIPESTATUS[0]} s=$((SECONDS - t0))
  [ $rc -eq 124 ] && { echo; log "$name: TIMED OUT after ${t}s"; }
  local js=; [[ $name == bench-* ]] && js=$(grep "^{" "$W/$name.txt" | tail -1)
  if [ -n "$js" ]; then record "$name" $rc $s json "$js"
  else
    local sum; sum=$(grep -E '^[0-9]+ passed, ' "$W/$name.txt" | tail -1)
    [ $rc -eq 124 ] && sum="timed out after ${t}s${sum:+; $sum}"
    record "$name" $rc $s summary "$(printf '%s' "${sum:-no summary line (see log.txt)}" | json_str)"
  fi
  log "$name: exit $rc in ${s}s"
}
words() { [ -z "$1" ] || [ "$1" = - ] && return 1; echo "$1"; }

cd "$W/app"
if w=$(words "$KERNEL_TESTS"); then phase kernel-tests 50 30 "$NODE" tests.mjs $w; fi
phase bench-step 45 30 "$NODE" bench-step.mjs --peer-rounds 0 ${FG_STEP_ARGS:-}
phase bench-rl 70 30 "$NODE" bench-rl.mjs --reps "${FG_RL_REPS:-5}"
if w=$(words "$MODEL_TESTS"); then phase model-tests 100 20 "$NODE" tests.mjs $w; fi
[ -f "$W/autotune.json" ] && cp "$W/autotune.json" "$OUT/autotune.json"
log "done in $((SECONDS - START))s; results:"
cat "$OUT/results.jsonl"
