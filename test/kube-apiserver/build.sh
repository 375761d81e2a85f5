#!/usr/bin/env bash
# Builds the test kube-apiserver (main.go) once into a git-ignored folder keyed by the pinned
# Kubernetes version, and does nothing when that build is already there and up to date.
#
#   bash test/kube-apiserver/build.sh [OUTPUT]
#
# OUTPUT defaults to .cache/kube-apiserver/<version>/kube-apiserver-test at the repository's
# root; the path is printed on the last line. A stamp (the hash of this folder's sources) next
# to the binary says which sources it was built from. Needs Go ($KUBE_APISERVER_GO, else `go` on
# PATH, $GOROOT/bin or /usr/local/go/bin) and the Go module proxy; the first build takes many minutes.
# Parallel calls build once (flock).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

version="$(sed -n 's/^[[:space:]]*k8s\.io\/kubernetes v\([0-9][0-9.]*\)$/v\1/p' "$here/go.mod" | head -n 1)"
if [[ -z "$version" ]]; then
  echo "build.sh: cannot read the k8s.io/kubernetes version from $here/go.mod" >&2
  exit 1
fi
minor="$(echo "$version" | cut -d. -f2)"
out="${1:-$root/.cache/kube-apiserver/$version/kube-apiserver-test}"

# The stamp: every source file of this folder, in a fixed order.
stamp="$(cd "$here" && LC_ALL=C ls go.mod go.sum build.sh *.go | LC_ALL=C sort | xargs cat | sha256sum | cut -d' ' -f1)"
up_to_date() { [[ -x "$out" && -f "$out.stamp" && "$(cat "$out.stamp")" == "$stamp" ]]; }
if up_to_date; then
  echo "build.sh: up to date" >&2
  echo "$out"
  exit 0
fi
mkdir -p "$(dirname "$out")"
# One build at a time (parallel test files, several engineers in one tree); the others wait.
exec 9>"$out.lock"
flock 9
if up_to_date; then
  echo "build.sh: up to date (built meanwhile)" >&2
  echo "$out"
  exit 0
fi

if [[ -n "${KUBE_APISERVER_GO:-}" ]]; then
  go_bin="$KUBE_APISERVER_GO"
  if [[ ! -x "$go_bin" ]]; then
    echo "build.sh: Go not found (KUBE_APISERVER_GO=$go_bin is not executable)" >&2
    exit 127
  fi
else
  go_bin="$(command -v go || true)"
  for candidate in "${GOROOT:-}/bin/go" /usr/local/go/bin/go; do
    if [[ -z "$go_bin" && -x "$candidate" ]]; then go_bin="$candidate"; fi
  done
  if [[ -z "$go_bin" ]]; then
    echo "build.sh: Go not found (no \`go\` on PATH, in \$GOROOT/bin or /usr/local/go/bin)" >&2
    exit 127
  fi
fi

echo "build.sh: building kube-apiserver $version with $("$go_bin" version) into $out (the first build takes many minutes)" >&2
pkg=k8s.io/component-base/version
ldflags="-X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
start=$SECONDS
# No -trimpath: StartTestServer finds its testdata folder from its source path.
# BUILD_VERBOSE=1 names each package as it is compiled (the test helper counts them).
verbose=()
if [[ "${BUILD_VERBOSE:-}" == 1 ]]; then verbose=(-v); fi
(cd "$here" && "$go_bin" build -mod=readonly "${verbose[@]}" -ldflags "$ldflags" -o "$out.tmp" .)
mv -f "$out.tmp" "$out"
echo "$stamp" > "$out.stamp"
echo "build.sh: built in $((SECONDS - start)) s" >&2
echo "$out"
