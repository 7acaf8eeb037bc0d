#!/usr/bin/env bash
# Build the Debian package bin/exitlane_<version>_amd64.deb ("make deb").
#
# With dpkg-deb, not a packaging tool from the network: the package is a
# staged tree plus DEBIAN/ (control, conffiles, md5sums, maintainer scripts
# from deploy/debian/). What goes where:
#
#   usr/bin/exitlane                     built here, with version, commit and
#                                        build date set through -ldflags -X
#   etc/exitlane/exitlane.toml           exitlane.example.toml with the ledger
#                                        in /var/lib/exitlane (a conffile:
#                                        upgrades never overwrite an edit)
#   etc/pam.d/exitlane-kiosk             the kiosk's logind session (conffile)
#   lib/systemd/system/exitlane-*        deploy/systemd/ (installed disabled)
#   usr/share/exitlane/udev/             deploy/udev/ rules, to copy to
#                                        /etc/udev/rules.d and edit
#   usr/share/doc/exitlane/              copyright (exitlane, the embedded
#                                        fonts, every Go module linked in),
#                                        changelog, install.md
#   usr/share/man/man1/exitlane.1.gz     the commands of this very binary
#
# Depends: what dpkg-shlibdeps finds in the binary (libc6, libgl1, libx11-6),
# the X libraries GLFW loads with dlopen at run time (not in its ELF
# header), and adduser for postinst. Recommends: the kiosk's display server.
#
# Environment: VERSION (default: FyneApp.toml's Version), DEB_MAINTAINER,
# SOURCE_DATE_EPOCH (the build date; default: now), GO.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=en_US.UTF-8

GO=${GO:-go}
VERSION=${VERSION:-$(sed -n 's/^Version *= *"\([^"]*\)".*/\1/p' FyneApp.toml)}
MAINTAINER=${DEB_MAINTAINER:-exitlane maintainers <maintainers@exitlane.example.com>}
ARCH=amd64
case "$VERSION" in
[0-9]*) ;;
*) echo "build-deb: version '$VERSION' must start with a digit (Debian policy 5.6.12)" >&2; exit 1 ;;
esac
[ "$($GO env GOARCH)" = "$ARCH" ] || { echo "build-deb: builds $ARCH packages only" >&2; exit 1; }

COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$COMMIT" != unknown ] && [ -n "$(git status --porcelain 2>/dev/null)" ]; then
	COMMIT="$COMMIT+dirty"
fi
EPOCH=${SOURCE_DATE_EPOCH:-$(date +%s)}
BUILD_DATE=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)

out=bin/exitlane_${VERSION}_${ARCH}.deb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
doc=$root/usr/share/doc/exitlane
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/etc/exitlane" "$root/etc/pam.d" \
	"$root/lib/systemd/system" "$root/usr/share/exitlane/udev" "$doc" \
	"$root/usr/share/man/man1" "$root/usr/share/lintian/overrides"

# The binary. The same compile flags as "go build" and "go test" (no
# -trimpath, no -buildmode=pie), so every package comes from the build
# cache and only main is linked anew; -s -w drop the symbol table and
# DWARF (a stripped binary, as Debian ships them; Go's own tables keep
# panics and goroutine dumps readable).
echo "build-deb: go build (version $VERSION, commit $COMMIT, built $BUILD_DATE)"
# -extldflags (the C linker's flags, link only) makes the relocations
# read-only after start (RELRO, BIND_NOW); .comment (the C compiler's
# version strings) is removed as Debian's dh_strip does.
$GO build -o "$root/usr/bin/exitlane" \
	-ldflags "-s -w -X github.com/exitlane/exitlane/internal/buildinfo.Version=$VERSION -X github.com/exitlane/exitlane/internal/buildinfo.Commit=$COMMIT -X github.com/exitlane/exitlane/internal/buildinfo.Date=$BUILD_DATE -extldflags '-Wl,-z,relro -Wl,-z,now'" .
objcopy --remove-section=.comment "$root/usr/bin/exitlane"
chmod 755 "$root/usr/bin/exitlane"
"$root/usr/bin/exitlane" version | sed 's/^/build-deb: /'

# The config: the example, with the ledger where the units let the lane
# write (ProtectSystem=strict; ReadWritePaths=/var/lib/exitlane).
sed -e 's|^path = "exitlane.db"\( *\)|path = "/var/lib/exitlane/exitlane.db"|' \
	-e 's|^# Check a file with:   exitlane config check exitlane.toml|# Check it as the lane will read it:\n#   runuser -u exitlane -- exitlane config check /etc/exitlane/exitlane.toml\n# (docs/install.md, /usr/share/doc/exitlane/install.md, walks through it).|' \
	exitlane.example.toml >"$root/etc/exitlane/exitlane.toml"
grep -q '^path = "/var/lib/exitlane/exitlane.db"' "$root/etc/exitlane/exitlane.toml" ||
	{ echo "build-deb: the example's [ledger] path was not rewritten" >&2; exit 1; }
cp deploy/debian/exitlane-kiosk.pam "$root/etc/pam.d/exitlane-kiosk"
cp deploy/systemd/*.service deploy/systemd/*.timer "$root/lib/systemd/system/"
cp deploy/udev/*.rules "$root/usr/share/exitlane/udev/"
cp deploy/debian/lintian-overrides "$root/usr/share/lintian/overrides/exitlane"
cp docs/install.md "$doc/install.md"
find "$root" -type d -exec chmod 755 {} +
find "$root" -type f ! -path '*/DEBIAN/*' ! -path '*/usr/bin/*' -exec chmod 644 {} +

# Changelog (a native package's changelog.gz).
date_rfc=$(date -u -R -d "@$EPOCH")
{
	echo "exitlane ($VERSION) bookworm; urgency=medium"
	echo
	echo "  * exitlane $VERSION, built from commit $COMMIT."
	echo "    The project's history: git log, or the repository's README."
	echo
	echo " -- $MAINTAINER  $date_rfc"
} | gzip -9n >"$doc/changelog.gz"

# Manual page: the commands are read from the binary just built, so the
# page lists exactly what this package's exitlane has.
{
	cat <<EOF
.TH EXITLANE 1 "$(date -u -d "@$EPOCH" +%Y-%m-%d)" "exitlane $VERSION" "exitlane"
.SH NAME
exitlane \- parking garage exit lane: ticket scanner, PayBy QR payment, barrier relay
.SH SYNOPSIS
.B exitlane
.I command
.RI [ flags ]
.SH DESCRIPTION
.B exitlane
runs one exit lane of a parking garage: it reads the driver's ticket from a
serial barcode scanner, prices the stay, shows a PayBy DYNQR code that the
driver pays with the PayBy or BOTIM app, and pulses a serial relay board to
lift the barrier once the order is paid. Every step is written to an SQLite
ledger before the side effect that depends on it.
.PP
Each command prints its flags with
.BR "exitlane \fIcommand\fB \-\-help" .
.SH COMMANDS
EOF
	"$root/usr/bin/exitlane" help | awk '/^  [a-z]/ {
		name = $1; $1 = ""; sub(/^ +/, "")
		gsub(/\\/, "\\e"); gsub(/-/, "\\-"); gsub(/-/, "\\-", name)
		print ".TP\n.B " name "\n" $0
	}'
	cat <<EOF
.SH FILES
.TP
.I /etc/exitlane/exitlane.toml
The lane's configuration; check it with
.BR "exitlane config check" .
.TP
.I /var/lib/exitlane
The ledger (exitlane.db with its \-wal and \-shm files), mode 700, owned by
the exitlane user.
.TP
.I /var/backups/exitlane
Nightly ledger backups (exitlane\-backup.timer).
.TP
.I /usr/share/exitlane/udev/99\-exitlane.rules
Example udev rules giving the scanner and the relay board stable names.
.SH SERVICES
exitlane\-kiosk.service (the fullscreen kiosk on tty1, under cage),
exitlane\-lane.service (the same lane with no screen),
exitlane\-office.service (the office server),
exitlane\-backup.timer (nightly ledger backups).
None is enabled by the package.
.SH SEE ALSO
.BR cage (1),
.BR systemctl (1),
.BR journalctl (1),
.I /usr/share/doc/exitlane/install.md
EOF
} | gzip -9n >"$root/usr/share/man/man1/exitlane.1.gz"

# Copyright: exitlane, the fonts it embeds, and every module linked into
# the binary with the licence and NOTICE files that module ships (Fyne's
# own theme fonts, HarfBuzz's port, GLFW's C sources and SQLite's
# amalgamation included), read from the module cache this build used.
# The Apache License 2.0 is referred to in /usr/share/common-licenses, as
# Debian policy 12.5 asks, with the copyright lines the file carries.
modcache=$($GO env GOMODCACHE)
escape() { sed 's/[A-Z]/!\L&/g' <<<"$1"; }
licence() {
	if grep -q 'Apache License' "$1" && grep -q 'Version 2.0, January 2004' "$1" && grep -q 'TERMS AND CONDITIONS' "$1"; then
		grep -i 'copyright' "$1" | grep -v -e '\[yyyy\]' -e 'copyright notice' -e 'copyright license' -e 'Copyright License' -e 'copyright owner' -e 'copyright statement' -e 'copyright, patent' | tr -d '\r' || true
		echo "Licensed under the Apache License, Version 2.0. On Debian systems its"
		echo "full text is in /usr/share/common-licenses/Apache-2.0."
	else
		tr -d '\r' <"$1"
	fi
}
{
	cat <<'EOF'
exitlane: parking garage exit lane
Source: https://github.com/exitlane/exitlane

exitlane
--------
Copyright: the exitlane authors.
License: the authors have not yet published licence terms for exitlane
itself; until they do, all rights are reserved. The third-party parts
below keep their own licences, reproduced in full.

Noto Sans Arabic (embedded in /usr/bin/exitlane)
-------------------------------------------------
EOF
	cat assets/fonts/OFL.txt
	echo
	echo "Go $($GO env GOVERSION) standard library and runtime (linked into /usr/bin/exitlane)"
	echo "------------------------------------------------------------------------------------"
	cat "$($GO env GOROOT)/LICENSE"
	$GO version -m "$root/usr/bin/exitlane" | awk '$1 == "dep" { print $2, $3 }' | while read -r path ver; do
		dir="$modcache/$(escape "$path")@$(escape "$ver")"
		[ -d "$dir" ] || { echo "build-deb: module $path@$ver is not in $modcache" >&2; exit 1; }
		files=$(cd "$dir" && find . \( -path '*/testdata/*' -o -path './cmd/*' -o -path '*/example*' -o -path '*/_*' \) -prune -o \
			-type f \( -iname 'licen[cs]e*' -o -iname 'copying*' -o -iname 'notice*' \) -print | sed 's|^\./||' | LC_ALL=C sort)
		[ -n "$files" ] || { echo "build-deb: module $path@$ver has no licence file" >&2; exit 1; }
		for f in $files; do
			echo
			title="$path $ver: $f"
			echo "$title"
			echo "${title//?/-}"
			licence "$dir/$f"
		done
	done
} >"$doc/copyright"

# Control files.
cat >"$root/DEBIAN/conffiles" <<'EOF'
/etc/exitlane/exitlane.toml
/etc/pam.d/exitlane-kiosk
EOF
for s in postinst prerm postrm; do
	install -m 755 "deploy/debian/$s" "$root/DEBIAN/$s"
done

# Shared libraries the binary links (dpkg-shlibdeps reads a debian/
# directory: give it a minimal one).
mkdir -p "$work/src/debian"
printf 'Source: exitlane\n\nPackage: exitlane\nArchitecture: %s\n' "$ARCH" >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/bin/exitlane" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no libraries" >&2; exit 1; }
# GLFW opens these with dlopen when the kiosk starts: they are needed at
# run time but appear in no ELF header.
depends="$shlibs, libxcursor1, libxrandr2, libxinerama1, libxi6, libxxf86vm1, adduser"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: exitlane
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $installed_size
Depends: $depends
Recommends: cage, xwayland, libgl1-mesa-dri, libpam-systemd
Suggests: sqlite3
Section: misc
Priority: optional
Homepage: https://github.com/exitlane/exitlane
Description: parking exit lane: ticket scanner, PayBy QR payment, barrier relay
 exitlane runs one exit lane of a parking garage: it reads the driver's
 ticket from a serial barcode scanner, prices the stay with the site's
 tariff, shows a PayBy DYNQR code that the driver pays with the PayBy or
 BOTIM app, and pulses a serial USB relay board to lift the barrier once the
 order is paid. Every step is written to an SQLite ledger first.
 .
 The package installs the program, systemd units for the fullscreen kiosk
 (on the cage compositor), a headless lane, an office server and nightly
 ledger backups, an example configuration in /etc/exitlane and example udev
 rules. Nothing starts until the configuration passes "exitlane config
 check" and a technician enables a unit: see
 /usr/share/doc/exitlane/install.md.
EOF
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p bin
SOURCE_DATE_EPOCH=$EPOCH dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out ($(du -h "$out" | cut -f1))"
