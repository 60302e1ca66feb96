#!/bin/sh
# release.sh builds vbwd for every target OS/arch with a plain `go build` and
# packs each binary with the docs, the shipped plugins (an engine root that
# serves as is) and the guide's example plugins into
# $DIST/vbwd-<version>-<os>-<arch>.tar.gz, then writes $DIST/SHA256SUMS.
#
#   make release                         # every target below, into dist/
#   TARGETS=linux/amd64 make release     # just one
#
# The binary is static (CGO_ENABLED=0). Its version and VCS revision come from
# the build info Go stamps into it; VERSION (default: git describe) and the
# revision are also set at link time, so a build from a git worktree, where Go
# does not stamp VCS information, still says what it is.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
DIST=${DIST:-dist}
TARGETS=${TARGETS:-linux/amd64 linux/arm64 darwin/arm64 darwin/amd64}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
REVISION=${REVISION:-$(git rev-parse HEAD 2>/dev/null || true)}
LDFLAGS="-s -w -X main.version=$VERSION -X main.revision=$REVISION"

# What every archive holds besides the binary: tracked files only, so local
# .data/ directories and test output never ship.
FILES=$(git ls-files LICENSE third_party/gopher-lua/LICENSE README.md config.json plugins.json plugins docs contrib compose.yaml Dockerfile)

mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
archives=""
for target in $TARGETS; do
	os=${target%/*} arch=${target#*/}
	name=vbwd-$VERSION-$os-$arch
	dir=$stage/$name
	mkdir -p "$dir"
	echo "build $name"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch $GO build -trimpath -buildvcs=auto -ldflags "$LDFLAGS" -o "$dir/vbwd" ./cmd/vbwd
	# shellcheck disable=SC2086 # FILES is a list of paths without spaces
	tar -cf - $FILES | tar -xf - -C "$dir"
	# Reproducible archives: sorted names, no owners, the commit's time.
	mtime=$(git log -1 --format=%ct 2>/dev/null || date +%s)
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$stage" -czf "$DIST/$name.tar.gz" "$name"
	archives="$archives $name.tar.gz"
done
cd "$DIST"
# shellcheck disable=SC2086
if command -v sha256sum >/dev/null; then sha256sum $archives >SHA256SUMS; else shasum -a 256 $archives >SHA256SUMS; fi
echo "wrote $DIST:$archives SHA256SUMS"
