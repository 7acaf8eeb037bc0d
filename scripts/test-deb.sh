#!/usr/bin/env bash
# Test the Debian package on this machine ("make test-deb"; CI runs it after
# make test). As root: it installs, upgrades and purges the package for real.
#
#   1. build bin/exitlane_<version>_amd64.deb and check it with lintian
#      (every tag fails unless deploy/debian/lintian-overrides explains it);
#   2. install it with dpkg -i: the files, their owners and modes, the
#      exitlane user in dialout, /var/lib/exitlane mode 700, no unit
#      enabled, and the installed example config refused by config check;
#   3. make the config pass as a technician would (keys), run the lane
#      headless as the exitlane user and see it create its ledger;
#   4. upgrade to a newer version: the edited config is kept, with its mode;
#   5. systemd-analyze verify on the installed units, and the sandbox
#      exposure of the lane's unit (systemd-analyze security);
#   6. remove, then purge: nothing is left but what the purge policy keeps
#      (/var/lib/exitlane, /var/backups/exitlane, the exitlane user);
#   7. under a real systemd: boot this machine's own root, as a throw-away
#      overlay, in a systemd-nspawn container, install the package there,
#      make the config pass, enable exitlane-lane and see it run in its
#      sandbox as exitlane (Type=notify and its watchdog once the binary
#      speaks sd_notify), write its ledger, stop cleanly; and run
#      exitlane-backup.service in its sandbox. Skipped, with a line saying
#      so, where containers cannot be started.
#
# It can run again: it starts by purging the package, and it removes the
# data it made (marked with a file) at the end. It refuses to run where
# /var/lib/exitlane holds a ledger it did not make.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=en_US.UTF-8

[ "$(id -u)" -eq 0 ] || { echo "test-deb: run as root: it installs and purges the package" >&2; exit 1; }

MARK=/var/lib/exitlane/.made-by-test-deb
if [ -d /var/lib/exitlane ] && [ ! -e "$MARK" ] && [ -n "$(ls -A /var/lib/exitlane)" ]; then
	echo "test-deb: /var/lib/exitlane holds data this test did not make (a real ledger?): not touching it" >&2
	exit 1
fi

passed=0
failed=0
step() { echo "== $*"; }
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}
stat_is() { # stat_is PATH MODE OWNER GROUP
	local got
	got=$(stat -c '%a %U %G' "$1" 2>/dev/null || echo missing)
	if [ "$got" = "$2 $3 $4" ]; then ok "$1 is $2 $3:$4"; else bad "$1 is $got, want $2 $3:$4"; fi
}
absent() { if [ -e "$1" ] || [ -L "$1" ]; then bad "$1 removed"; else ok "$1 removed"; fi; }

# under_systemd boots systemd in a container whose root is an overlay of
# this machine's (written to a tmpfs, in a private mount namespace: nothing
# of it outlives the step), runs $work/inside.sh there as a unit, and
# checks what it reports.
under_systemd() {
	if ! ./scripts/apt-install.sh systemd-container >/dev/null 2>&1 || ! command -v systemd-nspawn >/dev/null; then
		echo "skip (systemd-nspawn not available)"
		return 0
	fi
	cp "$deb" "$work/pkg.deb"
	cp "$work/exitlane_${newer}_amd64.deb" "$work/pkg-newer.deb"
	cat >"$work/inside.sh" <<'INSIDE'
#!/bin/bash
# Runs inside the container, as a unit, after boot. Prints KEY=value lines.
exec >/root/result.txt 2>/root/inside.log
export LANG=en_US.UTF-8
say() { echo "$1=$2"; }
# A lane machine has no policy-rc.d; container images often carry one that
# forbids maintainer scripts to start anything (exit 101).
rm -f /usr/sbin/policy-rc.d
dpkg -i /root/pkg.deb >&2 || exit 1
say INSTALLED yes
say ENABLED_AFTER_INSTALL "$(systemctl is-enabled exitlane-lane 2>/dev/null)"
say ACTIVE_AFTER_INSTALL "$(systemctl is-active exitlane-lane 2>/dev/null)"
cd /etc/exitlane
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >ticket.key
chown exitlane:exitlane ticket.key && chmod 600 ticket.key
install -d -o root -g exitlane -m 750 payby
exitlane payby keygen /root/keys >&2
install -o exitlane -g exitlane -m 600 /root/keys/merchant_private.pem payby/merchant_private.pem
install -o root -g exitlane -m 640 /root/keys/merchant_public.pem payby/payby.pub
mkdir -p /etc/systemd/system/exitlane-lane.service.d
if grep -q NOTIFY_SOCKET /usr/bin/exitlane; then
	# The real Type=notify unit; a short watchdog, to see it fed.
	say NOTIFY yes
	printf '[Service]\nWatchdogSec=2s\n' >/etc/systemd/system/exitlane-lane.service.d/test.conf
else
	# This binary does not speak sd_notify yet: the same sandbox, Type=exec.
	say NOTIFY no
	printf '[Service]\nType=exec\nWatchdogSec=0\n' >/etc/systemd/system/exitlane-lane.service.d/test.conf
fi
systemctl daemon-reload
timeout 150 systemctl enable --now exitlane-lane >&2
say START $?
sleep 8
pid=$(systemctl show -p MainPID --value exitlane-lane)
say ACTIVE "$(systemctl is-active exitlane-lane)"
say RESTARTS "$(systemctl show -p NRestarts --value exitlane-lane)"
say PROC "$(ps -o user=,group=,supgrp= -p "$pid" | tr -s ' ' ',')"
say LEDGER "$(stat -c '%a,%U,%G' /var/lib/exitlane/exitlane.db 2>/dev/null)"
say LOGGED "$(journalctl -u exitlane-lane -o cat | grep -c '"msg":"ledger open"')"
# An upgrade restarts the running lane on the new binary when the config
# passes, and leaves it running, untouched, when it does not.
dpkg -i /root/pkg-newer.deb >/root/upgrade.log 2>&1
sleep 3
pid2=$(systemctl show -p MainPID --value exitlane-lane)
say UPGRADE_RESTARTED "$([ "$pid2" != "$pid" ] && [ "$(systemctl is-active exitlane-lane)" = active ] && echo yes || echo "no ($pid -> $pid2)")"
echo 'not_a_key = 1' >>/etc/exitlane/exitlane.toml
dpkg -i /root/pkg-newer.deb >/root/upgrade2.log 2>&1
sleep 3
pid3=$(systemctl show -p MainPID --value exitlane-lane)
say BROKEN_LEFT_RUNNING "$([ "$pid3" = "$pid2" ] && echo yes || echo "no ($pid2 -> $pid3)")"
say BROKEN_SAID "$(grep -c 'does not pass' /root/upgrade2.log)"
sed -i '$d' /etc/exitlane/exitlane.toml
cat /root/upgrade.log /root/upgrade2.log >&2
systemctl stop exitlane-lane
say STOPPED "$(systemctl show -p Result --value exitlane-lane)"
systemctl start exitlane-backup.service >&2
# exitlane-backup ran "exitlane ledger backup" in its sandbox: exit 0
# and one checked copy in /var/backups/exitlane, which passes the check.
say BACKUP "$(systemctl show -p ExecMainStatus --value exitlane-backup.service)"
b=$(ls /var/backups/exitlane/exitlane-*.db 2>/dev/null | tail -1)
say BACKUP_FILE "$(stat -c %a,%U "$b" 2>/dev/null || echo none)"
say BACKUP_CHECK "$(runuser -u exitlane -- exitlane ledger check --config /etc/exitlane/exitlane.toml --file "$b" >&2; echo $?)"
journalctl --no-pager -u exitlane-lane -u exitlane-backup >&2
say DONE yes
INSIDE
	chmod 755 "$work/inside.sh"
	set +e
	timeout -k 30 400 unshare -m --propagation private bash -s "$work" >"$work/nspawn.log" 2>&1 <<'NS'
set -e
work=$1
m=$work/ns
mkdir -p "$m"
mount -t tmpfs -o size=4G tmpfs "$m"
mkdir "$m/upper" "$m/work" "$m/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$m/upper,workdir=$m/work" "$m/root"
r=$m/root
cp "$work/pkg.deb" "$work/pkg-newer.deb" "$work/inside.sh" "$r/root/"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$r/etc/machine-id"
echo >>"$r/etc/machine-id"
printf '[Unit]\nAfter=multi-user.target\n[Service]\nType=oneshot\nExecStart=/root/inside.sh\nExecStartPost=/bin/systemctl --no-block poweroff\n' >"$r/etc/systemd/system/test-deb-inside.service"
mkdir -p "$r/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/test-deb-inside.service "$r/etc/systemd/system/multi-user.target.wants/"
# nspawn keeps state under /run/systemd and must not think it runs under
# a host systemd (this machine may have none).
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/nspawn
timeout -k 30 300 systemd-nspawn -D "$r" -b -q --register=no --keep-unit --link-journal=no --console=pipe || true
cp "$r/root/result.txt" "$r/root/inside.log" "$work/" 2>/dev/null || true
NS
	set -e
	if [ ! -s "$work/result.txt" ]; then
		if grep -q -i -e 'operation not permitted' -e 'permission denied' -e 'not supported' "$work/nspawn.log"; then
			echo "skip (no container here: $(grep -i -m1 -e 'not permitted' -e 'denied' -e 'not supported' "$work/nspawn.log"))"
			return 0
		fi
		tail -20 "$work/nspawn.log"
		bad "the container ran the test (no result)"
		return 0
	fi
	r() { sed -n "s/^$1=//p" "$work/result.txt" | tail -1; }
	[ "$(r INSTALLED)" = yes ] && ok "container: dpkg -i under systemd" || bad "container: dpkg -i (see below)"
	[ "$(r ENABLED_AFTER_INSTALL)" = disabled ] && ok "container: exitlane-lane disabled after install" || bad "container: exitlane-lane $(r ENABLED_AFTER_INSTALL) after install"
	[ "$(r ACTIVE_AFTER_INSTALL)" = inactive ] && ok "container: nothing started by the install" || bad "container: exitlane-lane $(r ACTIVE_AFTER_INSTALL) after install"
	echo "     sd_notify in this binary: $(r NOTIFY)"
	[ "$(r START)" = 0 ] && ok "container: systemctl enable --now exitlane-lane" || bad "container: enable --now exited $(r START)"
	[ "$(r ACTIVE)" = active ] && ok "container: exitlane-lane active after 8 s" || bad "container: exitlane-lane $(r ACTIVE)"
	[ "$(r RESTARTS)" = 0 ] && ok "container: no restart (watchdog fed or off)" || bad "container: $(r RESTARTS) restarts"
	case "$(r PROC)" in
	exitlane,exitlane,*dialout*) ok "container: the lane runs as exitlane:exitlane with dialout ($(r PROC))" ;;
	*) bad "container: the lane runs as $(r PROC)" ;;
	esac
	[ "$(r LEDGER)" = 600,exitlane,exitlane ] && ok "container: ledger written, 600 exitlane:exitlane (UMask)" || bad "container: ledger $(r LEDGER)"
	[ "$(r LOGGED)" -ge 1 ] 2>/dev/null && ok "container: the lane's log reaches the journal" || bad "container: no 'ledger open' in the journal"
	[ "$(r UPGRADE_RESTARTED)" = yes ] && ok "container: an upgrade restarts the running lane (config passes)" || bad "container: upgrade restart: $(r UPGRADE_RESTARTED)"
	[ "$(r BROKEN_LEFT_RUNNING)" = yes ] && [ "$(r BROKEN_SAID)" = 1 ] && ok "container: with a broken config an upgrade leaves the running lane alone, and says so" || bad "container: broken config upgrade: left running $(r BROKEN_LEFT_RUNNING), said $(r BROKEN_SAID)"
	[ "$(r STOPPED)" = success ] && ok "container: stops cleanly on SIGTERM" || bad "container: stop result $(r STOPPED)"
	case "$(r BACKUP)" in
	0) ok "container: exitlane-backup.service made a backup in its sandbox" ;;
	*) bad "container: exitlane-backup.service exit $(r BACKUP)" ;;
	esac
	[ "$(r BACKUP_FILE)" = 600,exitlane ] && ok "container: the backup is 600 exitlane" || bad "container: backup file $(r BACKUP_FILE)"
	[ "$(r BACKUP_CHECK)" = 0 ] && ok "container: exitlane ledger check passes on the backup" || bad "container: ledger check of the backup exited $(r BACKUP_CHECK)"
	if [ "$failed" -gt 0 ]; then
		sed 's/^/     | /' "$work/inside.log" | tail -40
	fi
}

step "tools"
./scripts/apt-install.sh lintian systemd dpkg-dev binutils adduser cage xwayland

# The user, if this test makes it, is removed at the end (the package keeps
# it on purge by design).
user_existed=no
getent passwd exitlane >/dev/null && user_existed=yes

step "build"
VERSION=$(sed -n 's/^Version *= *"\([^"]*\)".*/\1/p' FyneApp.toml)
./scripts/build-deb.sh
deb=bin/exitlane_${VERSION}_amd64.deb
# A newer version of the same package, for the upgrade: the control file's
# version bumped, nothing else.
newer=${VERSION}+test1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -R "$deb" "$work/newer"
sed -i "s/^Version: .*/Version: $newer/" "$work/newer/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz --build "$work/newer" "$work/exitlane_${newer}_amd64.deb" >/dev/null
echo "$deb: $(stat -c %s "$deb") bytes ($(du -h "$deb" | cut -f1)), installed $(dpkg-deb -f "$deb" Installed-Size) KiB"

step "lintian"
lintian_out=$(LC_ALL=C.UTF-8 lintian --display-info --pedantic --fail-on error,warning,info,pedantic "$deb" 2>&1) && lintian_rc=0 || lintian_rc=$?
lintian_out=$(grep -v 'running with root privileges' <<<"$lintian_out" || true)
if [ "$lintian_rc" -eq 0 ] && [ -z "$lintian_out" ]; then
	ok "lintian: no tags (overridden: $(grep -c '^exitlane:' deploy/debian/lintian-overrides))"
else
	echo "$lintian_out"
	bad "lintian (exit $lintian_rc)"
fi

step "clean slate"
if dpkg-query -W -f='${Status}' exitlane 2>/dev/null | grep -qv 'not-installed'; then
	dpkg --purge exitlane >/dev/null
fi
if [ -e "$MARK" ]; then
	rm -rf /var/lib/exitlane /var/backups/exitlane
fi

step "install"
if ! dpkg -i "$deb" >"$work/install.log" 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq >>"$work/install.log" 2>&1
fi
cat "$work/install.log"
check "dpkg: installed" sh -c "dpkg-query -W -f='\${Status}' exitlane | grep -qx 'install ok installed'"
check "postinst: says the config does not pass yet and nothing started" grep -q "does not pass 'exitlane config check' yet" "$work/install.log"
touch "$MARK"

step "files"
stat_is /usr/bin/exitlane 755 root root
if /usr/bin/exitlane version | grep -qx "exitlane $VERSION"; then ok "exitlane version: $VERSION"; else bad "exitlane version: $(/usr/bin/exitlane version | head -1)"; fi
if /usr/bin/exitlane version | grep -Eq '^commit +[0-9a-f]{12}'; then ok "exitlane version: commit"; else bad "exitlane version: no commit"; fi
if /usr/bin/exitlane version | grep -Eq '^built +[0-9]{4}-[0-9]{2}-[0-9]{2}T'; then ok "exitlane version: build date"; else bad "exitlane version: no build date"; fi
stat_is /etc/exitlane 750 root exitlane
stat_is /etc/exitlane/exitlane.toml 640 root exitlane
check "config: the ledger in /var/lib/exitlane" grep -q '^path = "/var/lib/exitlane/exitlane.db"' /etc/exitlane/exitlane.toml
check "config: a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' exitlane | grep -q ' /etc/exitlane/exitlane.toml '"
check "pam: a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' exitlane | grep -q ' /etc/pam.d/exitlane-kiosk '"
for u in exitlane-lane.service exitlane-kiosk.service exitlane-office.service exitlane-backup.service exitlane-backup.timer; do
	stat_is "/lib/systemd/system/$u" 644 root root
done
check "udev rules shipped" test -s /usr/share/exitlane/udev/99-exitlane.rules
check "copyright: the fonts' licence" grep -q 'SIL OPEN FONT LICENSE Version 1.1' /usr/share/doc/exitlane/copyright
check "copyright: the Go modules" grep -q '^github.com/mattn/go-sqlite3 ' /usr/share/doc/exitlane/copyright
check "manual page" sh -c 'zcat /usr/share/man/man1/exitlane.1.gz | grep -q "^\.B version"'
check "install.md" grep -q 'first paid visit' /usr/share/doc/exitlane/install.md
check "depends on the libraries" sh -c "dpkg-query -W -f='\${Depends}' exitlane | grep -q 'libgl1' && dpkg-query -W -f='\${Depends}' exitlane | grep -q 'libxcursor1'"

step "user and directories"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd exitlane) || true
if [ -n "${uid:-}" ] && [ "$uid" -lt 1000 ]; then ok "exitlane is a system user (uid $uid)"; else bad "exitlane system user (uid ${uid:-none})"; fi
[ "${home:-}" = /var/lib/exitlane ] && ok "home /var/lib/exitlane" || bad "home ${home:-none}"
[ "${shell:-}" = /usr/sbin/nologin ] && ok "no login shell" || bad "shell ${shell:-none}"
check "group exitlane" getent group exitlane
check "exitlane is in dialout" sh -c "id -nG exitlane | tr ' ' '\n' | grep -qx dialout"
stat_is /var/lib/exitlane 700 exitlane exitlane
stat_is /var/backups/exitlane 700 exitlane exitlane
enabled=$(find /etc/systemd/system -name 'exitlane-*' 2>/dev/null | tr '\n' ' ' || true)
[ -z "$enabled" ] && ok "no unit enabled" || bad "units enabled on install: $enabled"
if runuser -u exitlane -- exitlane config check /etc/exitlane/exitlane.toml >"$work/check.out" 2>&1; then
	bad "the example config passed config check (it has no keys)"
else
	ok "the example config is refused until the keys are in place ($(grep -c '^  ' "$work/check.out") problems)"
fi

step "a technician's config"
# The keys, as docs/install.md says: owned by exitlane, mode 600. PayBy's
# public key is a stand-in here (a key pair of our own).
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >/etc/exitlane/ticket.key
mkdir -p /etc/exitlane/payby
exitlane payby keygen "$work/keys" >/dev/null 2>&1
install -o exitlane -g exitlane -m 600 "$work/keys/merchant_private.pem" /etc/exitlane/payby/merchant_private.pem
install -o root -g exitlane -m 640 "$work/keys/merchant_public.pem" /etc/exitlane/payby/payby.pub
chown exitlane:exitlane /etc/exitlane/ticket.key
chmod 600 /etc/exitlane/ticket.key
chown root:exitlane /etc/exitlane/payby
chmod 750 /etc/exitlane/payby
echo "# edited by test-deb" >>/etc/exitlane/exitlane.toml
if runuser -u exitlane -- exitlane config check /etc/exitlane/exitlane.toml; then
	ok "config check passes as the exitlane user"
else
	bad "config check as the exitlane user"
fi
# The lane, headless, as its user, for a few seconds: it opens (creates)
# its ledger in /var/lib/exitlane. No devices and no PayBy here: it keeps
# retrying those, which is what a lane does.
# umask 077 as the units set it (UMask=0077).
set +e
(umask 077 && timeout -s TERM 8 runuser -u exitlane -- exitlane run --headless --config /etc/exitlane/exitlane.toml >"$work/run.log" 2>&1)
rc=$?
set -e
head -n 4 "$work/run.log" | cut -c1-200 | sed 's/^/     | /'
if [ "$rc" -eq 124 ] || [ "$rc" -eq 0 ]; then ok "the lane ran headless until stopped"; else bad "the lane exited $rc: $(tail -3 "$work/run.log")"; fi
stat_is /var/lib/exitlane/exitlane.db 600 exitlane exitlane

step "upgrade to $newer"
dpkg -i "$work/exitlane_${newer}_amd64.deb" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; bad "dpkg -i $newer"; }
check "dpkg: $newer installed" sh -c "dpkg-query -W -f='\${Version}' exitlane | grep -qx '$newer'"
check "the edited config is kept" grep -q '^# edited by test-deb' /etc/exitlane/exitlane.toml
stat_is /etc/exitlane/exitlane.toml 640 root exitlane
check "the keys are kept" test -s /etc/exitlane/ticket.key
enabled=$(find /etc/systemd/system -name 'exitlane-*' 2>/dev/null | tr '\n' ' ' || true)
[ -z "$enabled" ] && ok "still no unit enabled" || bad "units enabled on upgrade: $enabled"
dpkg -i "$work/exitlane_${newer}_amd64.deb" >/dev/null 2>&1 && ok "reinstall of the same version" || bad "reinstall of the same version"

step "systemd-analyze verify"
units=(/lib/systemd/system/exitlane-lane.service /lib/systemd/system/exitlane-kiosk.service
	/lib/systemd/system/exitlane-office.service /lib/systemd/system/exitlane-backup.service
	/lib/systemd/system/exitlane-backup.timer)
if systemd-analyze verify "${units[@]}" >"$work/verify.log" 2>&1 && ! grep -q exitlane "$work/verify.log"; then
	ok "systemd-analyze verify: no findings"
else
	cat "$work/verify.log"
	bad "systemd-analyze verify"
fi
for u in exitlane-lane exitlane-office exitlane-backup exitlane-kiosk; do
	score=$(systemd-analyze security --offline=true "/lib/systemd/system/$u.service" 2>/dev/null | sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) \(.*\)$/\1 \2/p')
	echo "     systemd-analyze security $u.service: ${score:-?}"
done
lane_score=$(systemd-analyze security --offline=true /lib/systemd/system/exitlane-lane.service 2>/dev/null | sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) .*$/\1/p')
# The lane's exposure, as measured when the unit was written, is the bar
# (docs/install.md): a change that loosens the sandbox fails here.
if [ -n "$lane_score" ] && awk -v s="$lane_score" 'BEGIN { exit !(s <= 2.0) }'; then
	ok "exitlane-lane.service exposure $lane_score <= 2.0"
else
	bad "exitlane-lane.service exposure ${lane_score:-?} > 2.0"
fi

step "remove"
dpkg -r exitlane >/dev/null
absent /usr/bin/exitlane
absent /lib/systemd/system/exitlane-lane.service
check "remove keeps the config" test -e /etc/exitlane/exitlane.toml

step "purge"
dpkg --purge exitlane >/dev/null
check "dpkg: not installed" sh -c "! dpkg-query -W -f='\${Status}' exitlane 2>/dev/null | grep -q 'ok installed'"
absent /etc/exitlane
absent /etc/pam.d/exitlane-kiosk
absent /usr/share/doc/exitlane
absent /usr/share/exitlane
absent /usr/share/man/man1/exitlane.1.gz
for u in "${units[@]}"; do absent "$u"; done
left=$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked -name 'exitlane-*' 2>/dev/null | tr '\n' ' ' || true)
[ -z "$left" ] && ok "no unit links or helper state left" || bad "left: $left"
overrides=$(dpkg-statoverride --list | grep -c ' /etc/exitlane' || true)
[ "$overrides" = 0 ] && ok "no statoverride left" || bad "$overrides statoverrides left"
check "purge keeps the ledger" test -s /var/lib/exitlane/exitlane.db
stat_is /var/lib/exitlane 700 exitlane exitlane
check "purge keeps the backups directory" test -d /var/backups/exitlane
check "purge keeps the exitlane user" getent passwd exitlane

step "tidy up what the test made"
rm -rf /var/lib/exitlane /var/backups/exitlane
if [ "$user_existed" = no ]; then
	userdel exitlane >/dev/null 2>&1 || true
	groupdel exitlane >/dev/null 2>&1 || true
fi

# On the machine as it is now, without the package, its user or its data.
step "under systemd (a container booted from an overlay of this machine)"
under_systemd

echo
echo "test-deb: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
