#!/usr/bin/env bash
# fetch-models: installs a mirror copy with the right sha256 (and its labels), is idempotent,
# refuses a copy with the wrong sha256 and an unknown name, each with exit 1 and nothing installed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${LITESERVE_SHARED:-$root/../shared}
if [ ! -d "$shared/models" ]; then
	if [ -n "${CI:-}" ] && [ "${CI}" != false ]; then echo "FAIL: ../shared missing under CI"; exit 1; fi
	echo "*** SKIP: ../shared is absent; fetch-models test not run ***"; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAILED: $1"; fail=$((fail+1)); fi; }

mkdir -p "$tmp/mirror"
cp "$shared/models/mobilenet_v1_0.25_128_quant.tflite" "$tmp/mirror/"
head -c 1000 "$shared/models/movenet_singlepose_lightning_int8_4.tflite" > "$tmp/mirror/movenet_singlepose_lightning_int8_4.tflite"

LITESERVE_MODEL_MIRROR=$tmp/mirror "$root/scripts/fetch-models" --dest "$tmp/repo" mobilenet_v1_0.25_128_quant > "$tmp/log1" 2>&1
check "installs from the mirror" '[ $? -eq 0 ] && cmp -s "$tmp/repo/mobilenet_v1_0.25_128_quant/1/model.tflite" "$shared/models/mobilenet_v1_0.25_128_quant.tflite"'
check "labels beside the model" '[ "$(wc -l < "$tmp/repo/mobilenet_v1_0.25_128_quant/labels.txt")" -eq 1001 ]'
LITESERVE_MODEL_MIRROR=$tmp/mirror "$root/scripts/fetch-models" --dest "$tmp/repo" mobilenet_v1_0.25_128_quant > "$tmp/log2" 2>&1
check "idempotent" 'grep -q "already installed" "$tmp/log2"'
LITESERVE_MODEL_MIRROR=$tmp/mirror "$root/scripts/fetch-models" --dest "$tmp/repo" movenet_singlepose_lightning_int8_4 > "$tmp/log3" 2>&1
rc=$?
check "wrong sha256 refused" '[ $rc -eq 1 ] && grep -q "expected cd7cc22f" "$tmp/log3" && [ ! -e "$tmp/repo/movenet_singlepose_lightning_int8_4" ]'
LITESERVE_MODEL_MIRROR=$tmp/mirror "$root/scripts/fetch-models" --dest "$tmp/repo" no_such_model > "$tmp/log4" 2>&1
rc=$?
check "unknown name refused" '[ $rc -eq 1 ] && grep -q "not in" "$tmp/log4"'
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
