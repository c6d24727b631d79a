#!/usr/bin/env bash
# Load test of `ailabel serve` on loopback, bounded in count and time.
#
#   scripts/load.sh [REQUESTS] [CONCURRENCY]     (defaults 10000 and 64)
#   LOAD_ONLY=text|jpeg scripts/load.sh …        (one of the two runs)
#   WARMUP=n scripts/load.sh …                    (untimed requests first; see below)
#   CLIENT_NICE=10 scripts/load.sh …              (the load client yields the cores to the
#                                                  server, as a separate load machine would)
#   TEXT_RATE=n scripts/load.sh …                 (the rate of the paced text run; default 5000,
#                                                  0: none)
#   TARGETS=report|strict|none scripts/load.sh …   (judge the runs against the targets below and
#                                                  say so: report (default) prints, strict also
#                                                  exits 3 when one is missed, none does not judge)
#
# Needs Go and curl. Builds ailabel and the load client (scripts/loadclient), writes test keys,
# starts the server on 127.0.0.1 with a random port, and for a 1 KB text and a 256 KB JPEG:
#   - sends WARMUP untimed warm-up requests (default: a tenth of REQUESTS, at least CONCURRENCY
#     and at most 1,000: the server's heap, goroutine stacks and caches reach their steady size),
#     verified like the others, then REQUESTS timed ones over CONCURRENCY
#     keep-alive connections to POST /v1/label (each run capped at 120 s, each request at 20 s),
#   - verifies every response: status 200, signature valid and trusted, the right format and
#     model, C2PA-Manifest-ID naming the embedded manifest, AI-Disclosure naming the model, no
#     manifest twice. Bodies are kept for verification after the timed run: in memory up to
#     256 MiB (all of the text run), then in an unlinked temporary file up to 8 GiB (the JPEG
#     run: 2.6 GB at 10,000 requests; on /dev/shm when it has room, else in the work folder;
#     SPILL_DIR chooses); past both, a connection verifies its body itself before its next
#     request,
#   - requires the server's ailabel_labels_total{format} counter to have grown by exactly the
#     number of requests sent (none lost),
# and prints throughput, p50/p99 latency, the server's and the client's CPU time per request
# and the server's peak RSS (VmHWM). Exits 1 if any request failed, and 3 with TARGETS=strict when
# every request passed but a target was missed.
#
# The text is sent twice: first as fast as the server answers (each connection sends its next
# request when the last is answered: the server's capacity, and its latency when saturated),
# then paced at TEXT_RATE requests a second over the same CONCURRENCY connections, with each
# request's latency counted from when it was due (a stall counts against every request it held
# back): the latency at that load, which is how a latency target at a given rate is judged.
#
# The targets of this project's 2-core machine (issue #6), each judged on the run that measures it:
#   - 1 KB text, 5,000 requests/s or more: the throughput of the run as fast as answered;
#   - 1 KB text, p99 under 20 ms at that rate: the p99 of the run paced at TEXT_RATE (5,000/s);
#   - 256 KB JPEG, 300 requests/s or more: the throughput of its run.
# A missed target is reported ("target: … MISSED"); it fails the script only with TARGETS=strict,
# as the figures depend on the machine.
set -euo pipefail
N=${1:-10000}
C=${2:-64}
(( N > 0 && N <= 100000 )) || { echo "REQUESTS must be 1..100000" >&2; exit 2; }
(( C > 0 && C <= 512 )) || { echo "CONCURRENCY must be 1..512" >&2; exit 2; }
W=${WARMUP:-$(( N / 10 < C ? C : (N / 10 > 1000 ? 1000 : N / 10) ))}
# Bodies past the in-memory budget are spilled to a file for verification after the run: on a
# RAM-backed /dev/shm when it has room (a disk would spend the shared cores on writeback during
# the timed run), else in the work folder.
spill_dir=${SPILL_DIR:-}
if [[ -z $spill_dir && -w /dev/shm ]] && (( $(df -Pk /dev/shm | awk 'NR==2 {print $4}') > 6 << 20 )); then
  spill_dir=/dev/shm
fi
(( W >= 0 && W <= 100000 )) || { echo "WARMUP must be 0..100000" >&2; exit 2; }
RATE=${TEXT_RATE:-5000}
[[ $RATE =~ ^[0-9]+$ ]] && (( RATE <= 100000 )) || { echo "TEXT_RATE must be 0..100000" >&2; exit 2; }
TARGETS=${TARGETS:-report}
[[ $TARGETS =~ ^(report|strict|none)$ ]] || { echo "TARGETS must be report, strict or none" >&2; exit 2; }
command -v curl >/dev/null || { echo "load.sh: curl is not installed" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=""
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

(cd "$root" && go build -o "$work/ailabel" ./cmd/ailabel && go build -o "$work/loadclient" ./scripts/loadclient)
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

fail=0 missed=0
run() { # NAME FILE FORMAT RATE [TARGET FLAGS…]
  local name=$1 file=$2 format=$3 rate=$4 before after rc=0
  shift 4
  [[ $TARGETS == none ]] && set --
  before=$(counter "$format"); before=${before:-0}
  timeout 600 nice -n "${CLIENT_NICE:-0}" "$work/loadclient" -url "$url/v1/label?model=load-test" -token-file "$work/tokens" \
    -in "$file" -n "$N" -c "$C" -warmup "$W" -timeout 20s -deadline 120s -keep $((256 << 20)) -spill $((8 << 30)) -spill-dir "${spill_dir:-$work}" \
    -format "$format" -model load-test -trust "$work/keys/ca.pem" -pid "$pid" -name "$name" -rate "$rate" "$@" || rc=$?
  after=$(counter "$format"); after=${after:-0}
  if (( rc == 3 )); then
    missed=1
  elif (( rc != 0 )); then
    echo "FAIL $name: the load client exited with $rc" >&2; fail=1
  fi
  if (( after - before != N + W )); then
    echo "FAIL $name: the server labeled $((after - before)), want $((N + W)) ($N timed, $W warm-up)" >&2; fail=1
  fi
}
case ${LOAD_ONLY:-} in
  ""|text) run "1 KB text" "$work/in.txt" text 0 -want-rate 5000
           if (( RATE > 0 )); then run "1 KB text" "$work/in.txt" text "$RATE" -want-p99 20ms; fi ;;&
  ""|jpeg) run "256 KB JPEG" "$work/in.jpg" jpeg 0 -want-rate 300 ;;
  text) ;;
  *) echo "LOAD_ONLY must be text or jpeg" >&2; exit 2 ;;
esac
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
(( fail )) && exit 1
if (( missed )); then
  echo "a target was missed (see \"target:\" above)" >&2
  [[ $TARGETS == strict ]] && exit 3
fi
exit 0
