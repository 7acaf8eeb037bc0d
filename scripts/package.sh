#!/bin/sh
# Build the Linux bundle (bin/exitlane.tar.xz) with fyne.io/tools.
#
# fyne package reads FyneApp.toml (name, id, version, icon, fyneDo
# migration), builds with -tags migrated_fynedo (a different tag set than
# plain go build, so the first run recompiles Fyne's C code: ~2.5 min on
# two cores) and writes a tarball with usr/local/bin/exitlane, a .desktop
# file, the icon and a Makefile (make install / user-install).
#
# The tree stays clean: --app-build and --app-version stop fyne from
# bumping Build in FyneApp.toml; its temporary metadata file and binary
# are removed by fyne; the tarball is moved to bin/ (git-ignored).
set -eu
cd "$(dirname "$0")/.."

FYNE="go run fyne.io/tools/cmd/fyne@v1.7.4"
version=$(sed -n 's/^Version *= *"\([^"]*\)".*/\1/p' FyneApp.toml)
build=$(sed -n 's/^Build *= *\([0-9][0-9]*\).*/\1/p' FyneApp.toml)
name=$(sed -n 's/^Name *= *"\([^"]*\)".*/\1/p' FyneApp.toml)

# fyne package deletes ./exitlane (it assumes a stale build): keep a
# developer's binary aside while it runs.
kept=""
if [ -e exitlane ]; then
	kept=$(mktemp -d)
	mv exitlane "$kept/"
fi
restore() {
	if [ -n "$kept" ]; then
		mv "$kept/exitlane" . && rmdir "$kept"
	fi
}
trap restore EXIT INT TERM

$FYNE package -os linux --release --app-version "$version" --app-build "$build" ${FYNE_PACKAGE_FLAGS:-}
mkdir -p bin
mv "$name.tar.xz" bin/
echo "bin/$name.tar.xz"
tar -tJf "bin/$name.tar.xz"

if ! git diff --quiet -- FyneApp.toml 2>/dev/null; then
	echo "package.sh: FyneApp.toml was modified" >&2
	exit 1
fi
