#!/usr/bin/env bash
# Installs the tools the deployment tests use, at the versions pinned in tools.env, into
# git-ignored folders of the repository; does nothing for a tool already there.
#
#   bash test/deploy/install-tools.sh
#
#   helm                 .cache/helm/<version>/helm, built with `go install` from the Go module
#                        proxy (Go: `go` on PATH or /usr/local/go/bin; measured here: 5-10 minutes
#                        on 2 busy cores with a warm module cache for the Kubernetes libraries)
#   kubernetes-validate  .cache/kubernetes-validate/<version>/bin/kubernetes-validate, a Python
#                        virtual environment installed with pip from PyPI (Python 3.9 or newer);
#                        it bundles the Kubernetes JSON schemas and validates offline.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version_of() { sed -n "s/^$1=//p" "$here/tools.env"; }
helm_version="$(version_of HELM_VERSION)"
kv_version="$(version_of KUBERNETES_VALIDATE_VERSION)"

helm_dir="$root/.cache/helm/$helm_version"
if [[ -x "$helm_dir/helm" ]]; then
  echo "install-tools: helm $helm_version is there" >&2
else
  go_bin="$(command -v go || true)"
  if [[ -z "$go_bin" && -x /usr/local/go/bin/go ]]; then go_bin=/usr/local/go/bin/go; fi
  if [[ -z "$go_bin" ]]; then
    echo "install-tools: Go not found: cannot build helm $helm_version" >&2
    exit 127
  fi
  echo "install-tools: building helm $helm_version with $("$go_bin" version) (minutes)" >&2
  start=$SECONDS
  # As helm's Makefile does: the default Kubernetes version (helm template's .Capabilities, and
  # the check of a chart's kubeVersion) is the one of the client-go helm is built with.
  gomod="$("$go_bin" mod download -json "helm.sh/helm/v3@$helm_version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  k8s_minor="$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod" | head -n 1)"
  if [[ -z "$k8s_minor" ]]; then
    echo "install-tools: cannot read the client-go version of helm $helm_version from $gomod" >&2
    exit 1
  fi
  ldflags="-X helm.sh/helm/v3/internal/version.version=$helm_version"
  for pkg in chartutil lint/rules; do
    ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$k8s_minor"
  done
  mkdir -p "$helm_dir"
  GOBIN="$helm_dir/tmp" "$go_bin" install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version"
  mv -f "$helm_dir/tmp/helm" "$helm_dir/helm"
  rmdir "$helm_dir/tmp"
  echo "install-tools: helm built in $((SECONDS - start)) s" >&2
fi

kv_dir="$root/.cache/kubernetes-validate/$kv_version"
if [[ -x "$kv_dir/bin/kubernetes-validate" ]]; then
  echo "install-tools: kubernetes-validate $kv_version is there" >&2
else
  echo "install-tools: installing kubernetes-validate $kv_version from PyPI" >&2
  # A virtual environment cannot be moved (its scripts name its path): built in place; the
  # kubernetes-validate script appears only once pip has installed it.
  rm -rf "$kv_dir"
  python3 -m venv "$kv_dir"
  "$kv_dir/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$kv_version"
fi
"$helm_dir/helm" version --short >&2
"$kv_dir/bin/kubernetes-validate" --version >&2
