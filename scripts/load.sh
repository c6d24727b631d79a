#!/usr/bin/env bash
# Load test of `ailabel serve` on loopback, bounded in count and time.
#
#   scripts/load.sh [REQUESTS] [CONCURRENCY]     (defaults 10000 and 64)
#
# Needs hey (Debian: apt-get install hey) and curl. Builds ailabel, writes test keys, starts the
# server on 127.0.0.1 with a random port, and for a 1 KB text and a 256 KB JPEG:
#   - runs hey -n REQUESTS -c CONCURRENCY (REQUESTS rounded up to a multiple of CONCURRENCY) against POST /v1/label (each run capped at 120 s),
#   - requires every response to be 200 (hey's status histogram) and the server's
#     ailabel_labels_total{format} counter to have grown by exactly REQUESTS (none lost),
#   - labels 20 more through curl and verifies each output with `ailabel verify` (valid, the
#     right format and model: none mislabeled),
# then prints throughput, p50/p99 latency and the server's peak RSS (VmHWM).
set -euo pipefail
N=${1:-10000}
C=${2:-64}
(( N > 0 && N <= 100000 )) || { echo "REQUESTS must be 1..100000" >&2; exit 2; }
(( C > 0 && C <= 512 )) || { echo "CONCURRENCY must be 1..512" >&2; exit 2; }
# hey runs REQUESTS/CONCURRENCY requests per worker: round up so that none is dropped silently.
N=$(( (N + C - 1) / C * C ))
command -v hey >/dev/null || { echo "load.sh: hey is not installed (apt-get install hey)" >&2; exit 2; }
command -v curl >/dev/null || { echo "load.sh: curl is not installed" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=""
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

(cd "$root" && go build -o "$work/ailabel" ./cmd/ailabel)
"$work/ailabel" keygen -o "$work/keys" >/dev/null
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" >"$work/tokens"

# The inputs: 1 KB of text; a 256 KB JPEG (the sample with a 250 KB COM segment of filler).
python3 - "$work" "$root/testdata/sample.jpg" <<'PY'
import sys, struct
work, jpg = sys.argv[1], open(sys.argv[2], 'rb').read()
line = "The quick brown fox jumps over the lazy dog, says the model. "
open(work + "/in.txt", "w").write((line * 20)[:1023] + "\n")
pad = 256 * 1024 - len(jpg)
segs = b""
while pad > 4:
    n = min(pad - 4, 65533)
    segs += b"\xff\xfe" + struct.pack(">H", n + 2) + b"x" * n
    pad -= n + 4
open(work + "/in.jpg", "wb").write(jpg[:2] + segs + jpg[2:])
PY

"$work/ailabel" serve --listen 127.0.0.1:0 --tokens-file "$work/tokens" \
  --key "$work/keys/signer.key" --cert "$work/keys/chain.pem" --trust "$work/keys/ca.pem" \
  --model load-test --max-inflight "$C" --temp-dir "$work" 2>"$work/server.log" &
pid=$!
url=""
for _ in $(seq 100); do
  url=$(grep -o '"addr":"[^"]*"' "$work/server.log" 2>/dev/null | head -1 | cut -d'"' -f4 || true)
  [[ -n $url ]] && curl -fsS "http://$url/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
[[ -n $url ]] || { echo "the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
url="http://$url"

counter() { curl -fsS "$url/metrics" | awk -v f="ailabel_labels_total{format=\"$1\"}" '$1==f {print $2}' | awk '{printf "%d", $1}'; }

fail=0
run() { # NAME FILE FORMAT
  local name=$1 file=$2 format=$3 before after out
  before=$(counter "$format"); before=${before:-0}
  out=$(timeout 130 hey -n "$N" -c "$C" -t 20 -z 0 -m POST -D "$file" -T application/octet-stream \
    -H "Authorization: Bearer $token" "$url/v1/label?model=load-test" 2>&1) || true
  after=$(counter "$format"); after=${after:-0}
  local ok rps p50 p99
  ok=$(awk '/\[200\]/ {print $2}' <<<"$out"); ok=${ok:-0}
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '/ 50% in/ {print $3*1000}' <<<"$out")
  p99=$(awk '/ 99% in/ {print $3*1000}' <<<"$out")
  printf '%-14s %6s req  %9s req/s  p50 %7s ms  p99 %7s ms  200s %s  labeled %s\n' "$name" "$N" "$rps" "$p50" "$p99" "$ok" "$((after - before))"
  if [[ $ok != "$N" || $((after - before)) != "$N" ]]; then
    echo "FAIL $name: $ok responses 200, $((after - before)) labeled, want $N" >&2
    grep -A20 'Status code distribution' <<<"$out" >&2 || echo "$out" >&2
    fail=1
  fi
  for i in $(seq 20); do
    curl -fsS -o "$work/out.$format" -H "Authorization: Bearer $token" --data-binary "@$file" "$url/v1/label?model=load-test"
    if ! "$work/ailabel" verify --json --trust "$work/keys/ca.pem" "$work/out.$format" | grep -q "\"format\":\"$format\".*\"model\":\"load-test\""; then
      echo "FAIL $name: response $i does not verify as $format by load-test" >&2; fail=1; break
    fi
  done
}
run "1 KB text" "$work/in.txt" text
run "256 KB JPEG" "$work/in.jpg" jpeg
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
exit $fail
