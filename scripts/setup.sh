#!/usr/bin/env bash
# Makes a WebGPU adapter available to Node (Dawn) on Linux machines without a GPU.
#
# Dawn needs a Vulkan driver. Where none exists we install Mesa's lavapipe (a CPU
# Vulkan implementation). Dawn needs Mesa >= 24: Debian 12 ships 22.3, which Dawn rejects
# ("shaderUniform*ArrayDynamicIndexing required"), so on Debian 12 we take Mesa from
# bookworm-backports, added to the Suites of the machine's existing Debian apt source
# (no mirror address is written anywhere). Where an adapter already exists it does nothing.
#
# Usage: bash scripts/setup.sh            (run after `npm ci`; needs root for apt)
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

probe() { node scripts/probe-adapter.mjs >/dev/null 2>&1; }

if probe; then
  echo "setup: a WebGPU adapter is already available: $(node scripts/probe-adapter.mjs)"
  exit 0
fi

if [ "$(uname -s)" != Linux ] || ! command -v apt-get >/dev/null; then
  echo "setup: no WebGPU adapter found, and this is not a Debian-like Linux; install a Vulkan, Metal or D3D12 driver for your GPU." >&2
  exit 1
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

. /etc/os-release
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
  # Add bookworm-backports to the existing Debian source, whichever format it uses.
  changed=0
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    if grep -Eq '^Suites:.*\bbookworm( |$)' "$f" && ! grep -q 'bookworm-backports' "$f"; then
      $SUDO sed -i -E '/^Suites:.*\bbookworm( |$)/ s/$/ bookworm-backports/' "$f"
      changed=1
    fi
  done
  if [ "$changed" = 0 ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    line=$(grep -Eh '^deb\s+\S+\s+bookworm\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1 || true)
    if [ -z "$line" ]; then
      echo "setup: found no Debian bookworm apt source to extend with bookworm-backports; add it by hand and rerun." >&2
      exit 1
    fi
    echo "$line" | sed -E 's/\sbookworm\s/ bookworm-backports /' | $SUDO tee /etc/apt/sources.list.d/forkgrad-backports.list >/dev/null
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
else
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
fi

if probe; then
  echo "setup: WebGPU adapter ready: $(node scripts/probe-adapter.mjs)"
else
  echo "setup: installed Mesa's Vulkan drivers but Dawn still finds no adapter:" >&2
  node scripts/probe-adapter.mjs >&2 || true
  exit 1
fi
