#!/usr/bin/env bash
# Fetch the Go toolchains of the test matrix from Debian's archive into the
# cache, without installing anything system-wide (idempotent, run as any user
# that can reach deb.debian.org through apt).
#
#   scripts/go-toolchains.sh            # all versions of the matrix
#   scripts/go-toolchains.sh 1.22 1.26  # only these
#
# Each toolchain is unpacked with `dpkg -x` into
#   $DENOPROF_CACHE/go/go1.N/   (GOROOT = .../go1.N/usr/lib/go-1.N)
# with a private apt sources list and lists folder under $DENOPROF_CACHE/go/apt,
# so the machine's apt state is left alone. A version already unpacked is
# skipped. Prints one line per version: `go1.N <GOROOT> <go version output>`.
# Use a toolchain with `GOROOT=<GOROOT> GOTOOLCHAIN=local <GOROOT>/bin/go ...`.
# Go 1.20 is not in Debian's archive; the matrix covers 1.19 and 1.21 instead.
set -euo pipefail

CACHE="${DENOPROF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/denoprof}"
GODIR="$CACHE/go"
APTDIR="$GODIR/apt"
MIRROR="${DENOPROF_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# version -> Debian suite that carries golang-<version>-go
declare -A SUITE=(
  [1.19]=bookworm
  [1.21]=bookworm-backports
  [1.22]=bookworm-backports
  [1.23]=bookworm-backports
  [1.24]=trixie
  [1.25]=trixie-backports
  [1.26]=forky
)
ALL=(1.19 1.21 1.22 1.23 1.24 1.25 1.26)
versions=("$@")
if ((${#versions[@]} == 0)); then versions=("${ALL[@]}"); fi

goroot_of() { echo "$GODIR/go$1/usr/lib/go-$1"; }

missing=()
for v in "${versions[@]}"; do
  if [[ -z "${SUITE[$v]:-}" ]]; then
    echo "go-toolchains: Go $v is not in the matrix (${ALL[*]})" >&2
    exit 2
  fi
  [[ -x "$(goroot_of "$v")/bin/go" && -f "$GODIR/go$v/.complete" ]] || missing+=("$v")
done

if ((${#missing[@]})); then
  mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/debs" \
    "$APTDIR/preferences.d"
  touch "$APTDIR/preferences"
  suites=()
  for v in "${missing[@]}"; do suites+=("${SUITE[$v]}"); done
  mapfile -t suites < <(printf '%s\n' "${suites[@]}" | sort -u)
  : >"$APTDIR/sources.list"
  for s in "${suites[@]}"; do
    echo "deb [arch=$(dpkg --print-architecture) signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $s main" >>"$APTDIR/sources.list"
  done
  APT_OPTS=(
    -o "Dir::Etc::sourcelist=$APTDIR/sources.list"
    -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$APTDIR/lists"
    -o "Dir::Cache=$APTDIR/cache"
    -o "Dir::Etc::preferences=$APTDIR/preferences"
    -o "Dir::Etc::preferencesparts=$APTDIR/preferences.d"
    -o "APT::Get::List-Cleanup=0"
    -o "Acquire::Languages=none"
    -o "APT::Sandbox::User=$(id -un)"
  )
  # Refresh the private lists at most once a day.
  stamp="$APTDIR/lists/.updated-$(printf '%s-' "${suites[@]}")"
  if [[ ! -f "$stamp" || -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]]; then
    echo "go-toolchains: apt-get update (${suites[*]})" >&2
    apt-get "${APT_OPTS[@]}" update -qq >&2
    touch "$stamp"
  fi
  for v in "${missing[@]}"; do
    s="${SUITE[$v]}"
    echo "go-toolchains: fetching golang-$v from $s" >&2
    (cd "$APTDIR/debs" && rm -f golang-"$v"-go_*.deb golang-"$v"-src_*.deb &&
      apt-get "${APT_OPTS[@]}" download -qq "golang-$v-go/$s" "golang-$v-src/$s" >&2)
    rm -rf "$GODIR/go$v.tmp"
    for deb in "$APTDIR"/debs/golang-"$v"-go_*.deb "$APTDIR"/debs/golang-"$v"-src_*.deb; do
      dpkg -x "$deb" "$GODIR/go$v.tmp"
    done
    rm -f "$APTDIR"/debs/golang-"$v"-*.deb
    touch "$GODIR/go$v.tmp/.complete"
    rm -rf "$GODIR/go$v"
    mv "$GODIR/go$v.tmp" "$GODIR/go$v"
  done
fi

for v in "${versions[@]}"; do
  root="$(goroot_of "$v")"
  echo "go$v $root $(GOROOT="$root" GOTOOLCHAIN=local "$root/bin/go" version)"
done
