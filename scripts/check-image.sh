#!/usr/bin/env bash
# Builds deploy/Dockerfile with podman and runs the image the way deploy/kubernetes/daemonset.yaml
# does: `weft-collector --help`, then a real start with host network and PID, the DaemonSet's
# capabilities (not privileged), its mounts and env, a read-only root; checks /healthz, and that
# `weft links` shows a known transfer on the loopback of a namespace made here with exact bytes;
# stops it with SIGTERM and checks that no TC state is left.
# Not part of `npm test`: it takes minutes and needs Debian's mirror and the npm registry, the only
# hosts it reaches (debootstrap/apt and npm); the collector itself listens on 127.0.0.1 only.
# Root. Usage: scripts/check-image.sh [--committed] [--rebuild-base]
#   --committed     build from `git archive HEAD` instead of the work tree
#   --rebuild-base  make the local Debian base image again
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
committed=0
rebuild_base=0
for a in "$@"; do
  case "$a" in
    --committed) committed=1 ;;
    --rebuild-base) rebuild_base=1 ;;
    *) echo "check-image: unknown argument $a" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "check-image: run as root (podman, network namespaces, eBPF)" >&2; exit 1; }

t0=$SECONDS
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
phase_start=$SECONDS
phase() { echo "check-image: $1 ($((SECONDS - phase_start)) s)"; phase_start=$SECONDS; }
fail() { echo "check-image: FAILED: $*" >&2; exit 1; }

BASE=localhost/debian:bookworm
NETNS=weft-img
IFACE=wimg0
CONTAINER=weft-image-check
work=$(mktemp -d /var/tmp/weft-image.XXXXXX)
cleanup() {
  podman rm -f -t 0 "$CONTAINER" >/dev/null 2>&1 || true
  ip netns del "$NETNS" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

missing=()
for tool in podman:podman buildah:buildah debootstrap:debootstrap runc:runc; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "check-image: installing ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" fuse-overlayfs conmon
fi
# runc, as crun refuses hybrid cgroup hierarchies (v1 controllers beside a v2 mount). Limits no
# higher than this process's own: podman asks for more open files and processes than a root
# without CAP_SYS_RESOURCE may give.
podman=(podman --runtime runc)
limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768)
[ -d node_modules/@kubernetes/client-node ] || fail "node_modules is missing: run npm ci first (the DaemonSet is read with @kubernetes/client-node)"

# What the DaemonSet's collector container says, as shell assignments: image, args, env,
# capabilities, mounts (host path:container path[:ro]).
eval "$(node --input-type=module - <<'EOF'
import { readFileSync } from 'node:fs';
import { loadAllYaml } from '@kubernetes/client-node';
const docs = loadAllYaml(readFileSync('deploy/kubernetes/daemonset.yaml', 'utf8'));
const ds = docs.find((d) => d.kind === 'DaemonSet').spec.template.spec;
const c = ds.containers[0];
const q = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;
const hostPaths = Object.fromEntries(ds.volumes.filter((v) => v.hostPath).map((v) => [v.name, v.hostPath.path]));
const mounts = c.volumeMounts
  .filter((m) => hostPaths[m.name])
  .map((m) => `${hostPaths[m.name]}:${m.mountPath}:${m.readOnly ? 'ro' : 'rw'}${m.mountPropagation === 'HostToContainer' ? ',rslave' : ''}`);
console.log(`IMAGE=${q(c.image)}`);
console.log(`CAPS=(${c.securityContext.capabilities.add.map(q).join(' ')})`);
console.log(`DS_ENV=(${(c.env ?? []).map((e) => q(`${e.name}=${e.value}`)).join(' ')})`);
console.log(`DS_MOUNTS=(${mounts.map(q).join(' ')})`);
console.log(`TOKEN_DIR=${q(c.volumeMounts.find((m) => m.name === 'token').mountPath)}`);
console.log(`HOST_NETWORK=${ds.hostNetwork === true} HOST_PID=${ds.hostPID === true}`);
console.log(`READ_ONLY=${c.securityContext.readOnlyRootFilesystem === true} NO_ESCALATION=${c.securityContext.allowPrivilegeEscalation === false}`);
EOF
)"
if [ "$HOST_NETWORK" != true ] || [ "$HOST_PID" != true ]; then fail "the DaemonSet should use host network and PID"; fi
echo "check-image: image $IMAGE; capabilities ${CAPS[*]}; mounts ${DS_MOUNTS[*]}"

# A Debian bookworm base made from Debian's mirror, as Docker Hub's is not reachable everywhere.
# It reaches the mirror this host's apt uses, with its Release checks, and trusts the extra CAs
# this host trusts (a TLS-inspecting proxy in front of the npm registry); NODE_EXTRA_CA_CERTS
# tells Node about them.
if [ "$rebuild_base" = 1 ] || ! podman image exists "$BASE"; then
  mirror=$(sed -n 's/^URIs: *\(\S*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
  rm -f "$work/rootfs/etc/apt/sources.list"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$work/rootfs/etc/apt/sources.list.d/"
  else
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" >"$work/rootfs/etc/apt/sources.list.d/debian.sources"
  fi
  apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) ' >"$work/rootfs/etc/apt/apt.conf.d/50host-mirror" || true
  changes=(--change 'CMD ["bash"]')
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    mkdir -p "$work/rootfs/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$work/rootfs/usr/local/share/ca-certificates/"
    cat /usr/local/share/ca-certificates/*.crt >"$work/rootfs/usr/local/share/ca-certificates/host-extra.pem"
    changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/host-extra.pem')
  fi
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | podman import "${changes[@]}" - "$BASE" >/dev/null
  rm -rf "$work/rootfs"
  phase "base image $BASE made with debootstrap from $mirror"
else
  phase "base image $BASE already there"
fi

context=$root
if [ "$committed" = 1 ]; then
  context=$work/context
  mkdir -p "$context"
  git archive HEAD | tar -x -C "$context"
  cp .dockerignore "$context/"
fi
# Host network for the build's RUN steps: no bridge, no firewall rules added to this host.
"${podman[@]}" build "${limits[@]}" --network host --build-arg "BASE=$BASE" -f "$root/deploy/Dockerfile" -t "$IMAGE" "$context" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; fail "podman build"; }
# Earlier builds' stages, now untagged; this build's stay as the cache for the next run.
podman image prune -f --filter "until=$started" >/dev/null
phase "built $IMAGE: $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')"

help=$("${podman[@]}" run --rm "${limits[@]}" --network none "$IMAGE" --help)
for flag in --listen --interfaces --token-file --tls-cert --allowed-origins --user; do
  grep -q -- "$flag" <<<"$help" || fail "--help does not list $flag"
done
echo "$help" | head -3
phase "weft-collector --help in the image"

# Ids of the tcx links process $1 holds on the test interface (bookworm's bpftool predates tcx).
tcx_links() {
  local ifindex fd ids=()
  ifindex=$(ip netns exec "$NETNS" cat "/sys/class/net/$IFACE/ifindex")
  for fd in /proc/"$1"/fdinfo/*; do
    if grep -qx $'link_type:\ttcx' "$fd" 2>/dev/null && grep -qx $'ifindex:\t'"$ifindex" "$fd" 2>/dev/null; then
      ids+=("$(sed -n 's/^link_id:\t//p' "$fd")")
    fi
  done
  echo "${ids[*]}"
}

# A real start, watching an interface in a network namespace made here (so no interface of this
# host gets a program), with what the DaemonSet gives the container.
ip netns add "$NETNS"
ip -n "$NETNS" link add "$IFACE" type veth peer name "${IFACE}p"
ip -n "$NETNS" link set "$IFACE" up
ip -n "$NETNS" link set "${IFACE}p" up
mkdir -p "$work/token" "$work/run-weft"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/token/token"
chmod 0400 "$work/token/token"
port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
run=("${limits[@]}" --name "$CONTAINER" --detach --network host --pid host --cap-drop ALL)
for c in "${CAPS[@]}"; do run+=(--cap-add "$c"); done
[ "$READ_ONLY" = true ] && run+=(--read-only --read-only-tmpfs=false)
[ "$NO_ESCALATION" = true ] && run+=(--security-opt no-new-privileges)
for e in "${DS_ENV[@]}"; do run+=(--env "$e"); done
for m in "${DS_MOUNTS[@]}"; do
  case "$m" in
    /run/weft:*) run+=(--volume "$work/run-weft:${m#*:}") ;; # this run's own TC state, not the host's
    *) run+=(--volume "$m") ;;
  esac
done
run+=(--volume "$work/token:$TOKEN_DIR:ro")
"${podman[@]}" run "${run[@]}" "$IMAGE" "--listen=127.0.0.1:$port" "--token-file=$TOKEN_DIR/token" "--interfaces=$NETNS:$IFACE" >/dev/null
for _ in $(seq 1 300); do
  podman logs "$CONTAINER" 2>&1 | grep -q 'listening on' && break
  [ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER")" = true ] || break
  sleep 0.1
done
podman logs "$CONTAINER" 2>&1 | sed 's/^/  | /'
podman logs "$CONTAINER" 2>&1 | grep -q 'listening on' || fail "the collector did not start"
phase "collector started in the container"

health=$(node -e 'fetch(`http://127.0.0.1:${process.argv[1]}/healthz`).then(async (r) => { const t = await r.text(); console.log(t); process.exit(r.status === 200 ? 0 : 1); }, (e) => { console.error(e.message); process.exit(1); })' "$port") || fail "/healthz: $health"
summary=$(node -e '
const h = JSON.parse(process.argv[1]);
const fail = (m) => { console.error(m); process.exit(1); };
if (h.status !== "ok") fail(`status ${h.status}`);
const links = h.components.links.attachedPrograms ?? [];
if (links.length === 0) fail("no links program attached");
const ifs = h.components.flows.interfaces ?? [];
if (!ifs.some((i) => i.name === process.argv[2])) fail(`flows not on ${process.argv[2]}: ${JSON.stringify(ifs)}`);
const s = h.components.server;
if (!s || s.uid !== 65534 || !/^0+$/.test(s.capEff) || !/^0+$/.test(s.capBnd) || !s.noNewPrivs) fail(`server process: ${JSON.stringify(s)}`);
console.log(`status ok; links: ${links.join(", ")}; flows: ${ifs.map((i) => `${i.netns ?? ""}${i.netns ? ":" : ""}${i.name} (${i.attach})`).join(", ")}; server process uid ${s.uid}, capEff ${s.capEff}, capBnd ${s.capBnd}, no_new_privs ${s.noNewPrivs}`);
' "$health" "$IFACE") || fail "/healthz: $health"
echo "  /healthz: $summary"
# One known TCP transfer on the loopback of the namespace made here: 1000 bytes up, 4096 down.
ip -n "$NETNS" link set lo up
ip netns exec "$NETNS" node -e '
const net = require("node:net");
const server = net.createServer((s) => { let n = 0; s.on("data", (d) => { n += d.length; if (n === 1000) s.end(Buffer.alloc(4096)); }); });
server.listen(7399, "127.0.0.1", () => {
  const c = net.connect(7399, "127.0.0.1", () => c.write(Buffer.alloc(1000)));
  let got = 0;
  c.on("data", (d) => (got += d.length)).on("end", () => { c.end(); server.close(); if (got !== 4096) process.exit(1); });
});
setTimeout(() => process.exit(1), 5000).unref();
' || fail "test transfer in $NETNS"
sleep 1 # a few poll intervals
links=$("${podman[@]}" exec "$CONTAINER" weft links --json --server "ws://127.0.0.1:$port" --token-file "$TOKEN_DIR/token") || fail "weft links in the container"
node -e '
const l = JSON.parse(process.argv[1]).find((r) => r.server.port === 7399 && r.server.netns === process.argv[2]);
if (!l || l.bytesSent !== 1000 || l.bytesReceived !== 4096) { console.error(JSON.stringify(l)); process.exit(1); }
console.log(`  weft links --json: ${l.client.process ?? l.client.ip} -> ${l.server.ip}:${l.server.port} netns ${l.server.netns}, sent ${l.bytesSent} B, received ${l.bytesReceived} B, connections ${JSON.stringify(l.connections)}`);
' "$links" "$NETNS" || fail "weft links --json has no link 127.0.0.1:7399 in $NETNS with 1000/4096 bytes: $links"
phase "/healthz and weft links (a known transfer, exact bytes) answered on 127.0.0.1:$port"

pid=$(podman inspect --format '{{.State.Pid}}' "$CONTAINER")
tcx_ids=$(tcx_links "$pid")
[ -n "$tcx_ids" ] || fail "the collector (pid $pid) holds no tcx link on $NETNS:$IFACE"
for id in $tcx_ids; do bpftool link show id "$id" >/dev/null || fail "bpftool does not see tcx link $id"; done
echo "  weft-collector (host pid $pid) holds tcx links $tcx_ids on $NETNS:$IFACE"
"${podman[@]}" stop -t 15 "$CONTAINER" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")
podman logs "$CONTAINER" 2>&1 | tail -2 | sed 's/^/  | /'
[ "$code" = 0 ] || fail "the collector exited with $code after SIGTERM"
echo "  exit code $code"
podman logs "$CONTAINER" 2>&1 | grep -q 'SIGTERM: closing clients and detaching programs' || fail "no SIGTERM line"
left=$(ls -A "$work/run-weft/tc" 2>/dev/null || true)
[ -z "$left" ] || fail "TC state files left: $left"
for dir in ingress egress; do
  f=$(tc -n "$NETNS" filter show dev "$IFACE" "$dir")
  [ -z "$f" ] || fail "TC $dir filters left on $NETNS:$IFACE: $f"
done
q=$(tc -n "$NETNS" qdisc show dev "$IFACE" | grep -E 'clsact|ingress' || true)
[ -z "$q" ] || fail "qdisc left on $NETNS:$IFACE: $q"
for id in $tcx_ids; do
  ! bpftool link show id "$id" >/dev/null 2>&1 || fail "tcx link $id still exists"
done
phase "stopped with SIGTERM, exit 0, no TC filters, qdiscs, tcx links or state files left"
echo "check-image: OK in $((SECONDS - t0)) s"
