#!/bin/sh
# Build the Linux bundle (bin/exitlane.tar.xz) with fyne.io/tools.
#
# fyne package reads FyneApp.toml (name, id, version, icon, fyneDo
# migration), builds with -tags migrated_fynedo (a different tag set than
# plain go build, so the first run recompiles Fyne's C code: ~2.5 min on
# two cores) and writes a tarball with usr/local/bin/exitlane, a .desktop
# file, the icon and a Makefile (make install / user-install).
#
# The tree stays clean: fyne package v1.7.4 always rewrites FyneApp.toml
# after packaging (Build + 1, comments dropped) even with --app-build, so
# the file is saved first and restored; --app-build/--app-version pin the
# numbers the bundle gets; fyne removes its temporary metadata file and
# binary; the tarball is moved to bin/ (git-ignored).
set -eu
cd "$(dirname "$0")/.."

FYNE="go run fyne.io/tools/cmd/fyne@v1.7.4"
version=$(sed -n 's/^Version *= *"\([^"]*\)".*/\1/p' FyneApp.toml)
build=$(sed -n 's/^Build *= *\([0-9][0-9]*\).*/\1/p' FyneApp.toml)
name=$(sed -n 's/^Name *= *"\([^"]*\)".*/\1/p' FyneApp.toml)

# fyne package deletes ./exitlane (it assumes a stale build): keep a
# developer's binary aside while it runs.
save=$(mktemp -d)
cp FyneApp.toml "$save/FyneApp.toml"
kept=""
if [ -e exitlane ]; then
	kept=yes
	mv exitlane "$save/"
fi
restore() {
	cp "$save/FyneApp.toml" FyneApp.toml
	if [ -n "$kept" ]; then
		mv "$save/exitlane" .
	fi
	rm -rf "$save"
}
trap restore EXIT INT TERM

$FYNE package -os linux --release --app-version "$version" --app-build "$build" ${FYNE_PACKAGE_FLAGS:-}
mkdir -p bin
mv "$name.tar.xz" bin/
echo "bin/$name.tar.xz"
tar -tJf "bin/$name.tar.xz"
