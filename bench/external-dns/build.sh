#!/usr/bin/env bash
# Builds external-dns (the upstream program, unmodified) for the side-by-side benchmark, once,
# into a git-ignored folder, from the Go module proxy:
#
#   bash bench/external-dns/build.sh     # prints the binary's path on its last line
#
# `go install sigs.k8s.io/external-dns@v0.22.0` cannot work here: two modules its go.mod pins
# are refused by the Go module proxy ("403 Forbidden: This module version is not available"):
# github.com/openshift/api v0.0.0-20260819011109-af5c920502e2 and
# github.com/exoscale/egoscale/v3 v3.1.44. This folder's go.mod builds the same main package
# (`go build sigs.k8s.io/external-dns`, declared as a tool) with those two replaced by the
# nearest versions the proxy serves (openshift/api v0.0.0-20260709102940-580f1c1ba691, used by
# the OpenShift Route source; egoscale v3.1.43, used by the Exoscale provider); neither is on
# the node source's or the Cloudflare provider's path. The first build takes many minutes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="$(sed -n 's/^[[:space:]]*sigs\.k8s\.io\/external-dns \(v[0-9][0-9.]*\).*$/\1/p' "$here/go.mod" | head -n 1)"
out="$root/.cache/external-dns/$version/external-dns"
stamp="$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -d' ' -f1)"
if [[ -x "$out" && -f "$out.stamp" && "$(cat "$out.stamp")" == "$stamp" ]]; then
  echo "build.sh: up to date" >&2
  echo "$out"
  exit 0
fi
go_bin="$(command -v go || true)"
[[ -z "$go_bin" && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
if [[ -z "$go_bin" ]]; then
  echo "build.sh: Go not found (no \`go\` on PATH or in /usr/local/go/bin)" >&2
  exit 127
fi
mkdir -p "$(dirname "$out")"
echo "build.sh: building external-dns $version with $("$go_bin" version) into $out (the first build takes many minutes)" >&2
(cd "$here" && GOFLAGS=-trimpath "$go_bin" build -ldflags='-s -w' -o "$out" sigs.k8s.io/external-dns)
echo "$stamp" > "$out.stamp"
echo "$out"
