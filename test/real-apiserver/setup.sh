#!/usr/bin/env bash
# Builds a genuine kube-apiserver (v1.20.2, from Debian bookworm's `kubernetes` source package,
# with Debian's Go 1.19) into the git-ignored cache folder .cache/real-apiserver/, and makes sure
# Debian's etcd 3.4 is installed. Idempotent: when the binary and `etcd` are already there it
# does nothing (and takes well under a second). Needs root for apt on a fresh machine.
#
# How and why it is built this way: ../shared/reference/real-apiserver.md (GOPATH mode, as
# upstream's hack/lib/init.sh does; the OpenAPI file that upstream's Makefile generates).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${REAL_APISERVER_CACHE:-$ROOT/.cache/real-apiserver}"
BIN="$CACHE/bin/kube-apiserver"
SRC_PARENT="$CACHE/src"
GOPATH_DIR="$CACHE/gopath"
VERSION=v1.20.2
GIT_COMMIT=faecb196815e248d3ecfb03c680a4507229c2a56
# Bumped whenever the recipe below changes, so that a binary cached by an older recipe is rebuilt.
RECIPE="v1.20.2+reflect2-1.0.2"
STAMP="$BIN.recipe"

T0=$SECONDS
step() { echo "[real-apiserver setup] $(( SECONDS - T0 ))s: $*"; }

built() { [[ -x "$BIN" && "$(cat "$STAMP" 2>/dev/null)" == "$RECIPE" ]]; }
if built && command -v etcd >/dev/null; then
  step "cached $BIN and $(command -v etcd) present; nothing to do"
  exit 0
fi

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive

# 1. Debian source packages (deb-src), golang-go, etcd-server, dpkg-dev (for dpkg-source).
SRC_LIST=/etc/apt/sources.list.d/debian-src.sources
if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  step "enabling deb-src in $SRC_LIST"
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | as_root tee "$SRC_LIST" >/dev/null
fi
need=()
command -v go >/dev/null || need+=(golang-go)
command -v etcd >/dev/null || need+=(etcd-server)
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
[[ -f /usr/share/gocode/src/github.com/modern-go/reflect2/go_above_118.go ]] || need+=(golang-github-modern-go-reflect2-dev)
if ! built || [[ ${#need[@]} -gt 0 ]]; then
  step "apt-get update"
  as_root apt-get update -qq
  if [[ ${#need[@]} -gt 0 ]]; then
    step "apt-get install ${need[*]}"
    as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi
if built; then
  step "done (binary was cached)"
  exit 0
fi

# 2. The source package (1.20.5+really1.20.2-1.1+deb12u1 on bookworm; full vendor/ tree).
mkdir -p "$SRC_PARENT" "$CACHE/bin"
SRC="$(find "$SRC_PARENT" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)"
if [[ -z "$SRC" || ! -f "$SRC/cmd/kube-apiserver/apiserver.go" ]]; then
  step "apt-get source kubernetes"
  rm -rf "${SRC_PARENT:?}"/*
  (cd "$SRC_PARENT" && apt-get source -qq kubernetes 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  SRC="$(find "$SRC_PARENT" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)"
  [[ -f "$SRC/cmd/kube-apiserver/apiserver.go" ]] || { echo "apt-get source kubernetes did not unpack a source tree" >&2; exit 1; }
fi
step "source: $SRC"

# The one source change: k8s 1.20 vendors github.com/modern-go/reflect2 v1.0.1, whose type lookup
# is broken by Go 1.18+ (json-iterator then panics with a nil pointer in reflect2.Type2 while
# building a map decoder: e.g. GET /api/v1/namespaces resets the connection, see the server log).
# Upstream fixed that in reflect2 v1.0.2 (Kubernetes moved to it with Go 1.18); Debian packages
# that version, so the vendored copy is replaced by Debian's.
R2=vendor/github.com/modern-go/reflect2
if [[ ! -f "$SRC/$R2/go_above_118.go" ]]; then
  step "replacing vendored reflect2 v1.0.1 with Debian's golang-github-modern-go-reflect2-dev (v1.0.2)"
  rm -rf "${SRC:?}/$R2"
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$SRC/$R2"
fi

# 3. GOPATH mode, as k8s 1.20's own build (modules with -mod=vendor fail: "updates to go.mod needed").
export GOPATH="$GOPATH_DIR" GOCACHE="$CACHE/gocache" GO111MODULE=off GOPROXY=off GOSUMDB=off CGO_ENABLED=0 GOFLAGS=
mkdir -p "$GOPATH/src/k8s.io" "$GOPATH/bin"
ln -sfn "$SRC" "$GOPATH/src/k8s.io/kubernetes"
cd "$GOPATH/src/k8s.io/kubernetes"
step "$(go version)"

# 4. pkg/generated/openapi/zz_generated.openapi.go, as upstream's build/root/Makefile.generated_files
#    makes it (KUBE target): every dir with a Go file carrying a `// +k8s:` tag and `+k8s:openapi-gen=`,
#    staging named as vendor/, minus code-generator and sample-apiserver. The violation report must
#    equal api/api-rules/violation_exceptions.list, as upstream's Makefile checks.
OPENAPI_OUT=pkg/generated/openapi/zz_generated.openapi.go
if [[ ! -f "$OPENAPI_OUT" ]]; then
  step "building openapi-gen"
  go build -o "$GOPATH/bin/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
  mapfile -t dirs < <(
    find -H . \( -not \( \( -path './_*' -o -path './.*' -o -path ./vendor \) -prune \) \) -type f -name '*.go' \
      | sed 's|^./staging/src|vendor|; s|/[^/]*$||; s|^./||' | LC_ALL=C sort -u \
      | while read -r d; do find "$d" -maxdepth 1 -type f -name '*.go'; done \
      | xargs grep --color=never -l '^// *+k8s:' \
      | grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' \
      | xargs grep --color=never -l '+k8s:openapi-gen=' \
      | xargs -n1 dirname | LC_ALL=C sort -u)
  step "generating $OPENAPI_OUT from ${#dirs[@]} packages"
  inputs="$(printf 'k8s.io/kubernetes/%s,' "${dirs[@]}")"
  "$GOPATH/bin/openapi-gen" --logtostderr --v 0 \
    -i "${inputs%,}" \
    -p k8s.io/kubernetes/pkg/generated/openapi \
    -O zz_generated.openapi \
    -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
    -r "$CACHE/KUBE_violations.report"
  if ! diff -q "$CACHE/KUBE_violations.report" api/api-rules/violation_exceptions.list >/dev/null; then
    echo "warning: OpenAPI rule violations differ from api/api-rules/violation_exceptions.list" >&2
  fi
fi

# 5. kube-apiserver, with the version stamped as upstream's hack/lib/version.sh does.
step "building kube-apiserver (several minutes on 2 cores when cold)"
BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for pkg in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=20 -X $pkg.gitCommit=$GIT_COMMIT"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
done
go build -tags selinux,notest -trimpath -ldflags "$ldflags" -o "$BIN.tmp" ./cmd/kube-apiserver
mv "$BIN.tmp" "$BIN"
echo "$RECIPE" > "$STAMP"
step "built: $("$BIN" --version)"
