#!/usr/bin/env bash
# Packs what one run on a lent GPU machine (the device tool's bare x86-64 NVIDIA box: no network,
# 64 MiB carried in all) needs into .devpack/, which scripts/device/run-device.sh unpacks there:
#   node.xz          this machine's `node`, xz -9e (~99 MB raw does not fit; ~24 MB packed)
#   dawn.node.xz     webgpu's linux-x64 addon only (the package ships five platforms, ~130 MB)
#   app/             bench-step.mjs, bench-rl.mjs, tests.mjs (scripts/device/bundle.ts: esbuild, no
#                    tsx there) and node_modules/webgpu/{package.json,index.js} for the addon
#   manifest.txt     what was packed, from which commit, and the sizes
# and the Vulkan loader packages into .gl/ (as /work/.library/device/README.md says: apt-get
# download for amd64; run-device.sh unpacks them into / there). Both folders are ignored through
# .git/info/exclude; the `run` call names them in `carry`. Fails if what travels passes the limit.
#
#   bash scripts/device/pack.sh          (recompresses node/dawn.node only when they changed)
set -euo pipefail
cd "$(dirname "$0")/../.."
PACK=.devpack
LIMIT=$((64 * 1024 * 1024))
NODE_BIN=$(command -v node)
DAWN=node_modules/webgpu/dist/linux-x64/dawn.node

[ "$(uname -m)" = x86_64 ] || { echo "pack.sh: this machine is $(uname -m); the device is x86-64, so node and dawn.node must be packed on an x86-64 machine" >&2; exit 1; }
[ -f "$DAWN" ] || { echo "pack.sh: $DAWN is missing; run npm ci first" >&2; exit 1; }
command -v xz >/dev/null || { echo "pack.sh: xz is missing; install xz-utils" >&2; exit 1; }

mkdir -p .git/info "$PACK"
for p in /.gl/ /$PACK/; do grep -qxF "$p" .git/info/exclude 2>/dev/null || echo "$p" >>.git/info/exclude; done

# compress a binary unless the packed copy was made from the same bytes (xz -9e takes minutes here)
pack_xz() { # src dst
  local sum; sum=$(sha256sum "$1" | cut -d' ' -f1)
  if [ -f "$2" ] && [ "$(cat "$2.sha256" 2>/dev/null)" = "$sum" ]; then echo "kept $2 ($1 unchanged)"; return; fi
  echo "compressing $1 ($(stat -c %s "$1") bytes) -> $2 ..."
  nice -n 10 xz -9e -T1 -c "$1" >"$2.tmp" && mv "$2.tmp" "$2"
  echo "$sum" >"$2.sha256"
}
pack_xz "$NODE_BIN" "$PACK/node.xz"
pack_xz "$DAWN" "$PACK/dawn.node.xz"

rm -rf "$PACK/app"
mkdir -p "$PACK/app/node_modules/webgpu"
cp node_modules/webgpu/{package.json,index.js,LICENSE.md} "$PACK/app/node_modules/webgpu/"
npx tsx scripts/device/bundle.ts "$PACK/app"

if ! ls .gl/libvulkan1_*_amd64.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

# what travels: tracked files, untracked files git does not ignore, and the two carried folders
tree=$( { git ls-files -z; git ls-files -z -o --exclude-standard; } | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s+=$1} END {print s+0}')
packed=$(du -sb "$PACK" | cut -f1)
gl=$(du -sb .gl | cut -f1)
total=$((tree + packed + gl))
{
  echo "packed $(date -u +%FT%TZ) from $(git rev-parse --short HEAD) ($(git status --porcelain | wc -l) paths differ from it)"
  echo "node $("$NODE_BIN" --version) ($NODE_BIN), webgpu $(node -p "require('./node_modules/webgpu/package.json').version")"
  (cd "$PACK" && ls -l node.xz dawn.node.xz app/*.mjs | awk '{print $5, $NF}')
  echo "bytes: tree $tree + $PACK $packed + .gl $gl = $total of $LIMIT"
} | tee "$PACK/manifest.txt"
if [ "$total" -gt "$LIMIT" ]; then
  echo "pack.sh: $total bytes would travel, over the device tool's 64 MiB; pack less (or ignore large untracked files)" >&2
  exit 1
fi
