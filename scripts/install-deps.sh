#!/usr/bin/env bash
# Installs what mopt needs to build and test on Debian bookworm (idempotent; run as root).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# The ONNX Runtime oracle lives in a cache folder the tests know (override with MOPT_CACHE).
cache=${MOPT_CACHE:-$here/.cache}

pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libgflags-dev libgoogle-glog-dev
  libcli11-dev libfmt-dev catch2 libyaml-cpp-dev nlohmann-json3-dev zlib1g-dev
  libssl-dev  # libcrypto: SHA-256 with the CPU's SHA extensions, for provenance hashes
  libopenblas0-pthread
  python3-torch python3-onnx python3-sklearn python3-torchvision python3-numpy python3-yaml
  python3-skimage  # real photos (skimage.data) for calibration tests and benchmarks
  libonnx-testdata
  clang-format
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages ${missing[*]}; run this script as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# node/npm: some images ship a repacked nodejs that bundles npm (apt's npm then conflicts).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "install-deps: node/npm missing; run as root" >&2; exit 1; }
  apt-get install -y -qq nodejs npm
fi

# ONNX Runtime 1.30 (CPU build inside onnxruntime-node): the outside oracle for every ONNX we write.
ort="$cache/ort"
if [ ! -f "$ort/node_modules/onnxruntime-node/package.json" ] ||
   ! grep -q '"version": "1.30.0"' "$ort/node_modules/onnxruntime-node/package.json"; then
  mkdir -p "$ort"
  echo "install-deps: installing onnxruntime-node@1.30.0 into $ort"
  (cd "$ort" && [ -f package.json ] || echo '{"name":"mopt-ort","private":true}' > package.json)
  (cd "$ort" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent onnxruntime-node@1.30.0)
fi
echo "install-deps: ok"
