#!/usr/bin/env bash
# Packaging (label packaging): a release build installed with `cmake --install` into a temp
# prefix, a program built against the installed CMake package and pkg-config file, then the
# Debian package from `cpack -G DEB`: its dependencies, `apt-get install ./keyfence_*.deb`,
# `keyfence --version` and `keyfence doctor` from the installed files, and removal.
# Usage: package_test.sh SOURCE_DIR. Needs root for apt-get (CI is); exit 77 = skipped.
set -euo pipefail
src=$(readlink -f "$1")
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: installing a package needs root" >&2; exit 77; fi
if dpkg-query -W -f='${Status}' keyfence 2>/dev/null | grep -q "install ok installed"; then
    echo "SKIP: a keyfence package is already installed on this machine; not touching it" >&2
    exit 77
fi
work=$(mktemp -d /tmp/keyfence-package-test.XXXXXX)
installed=0
cleanup() {
    local rc=$?
    if [ "$installed" = 1 ]; then apt-get remove -y -qq keyfence >/dev/null 2>&1 || true; fi
    rm -rf "$work"
    exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
passed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }

cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DKEYFENCE_BUILD_TESTS=OFF -DKEYFENCE_BUILD_BENCH=OFF >"$work/configure.log" 2>&1 || fail "configure: $(tail "$work/configure.log")"
cmake --build "$work/build" -j "$(nproc)" >"$work/build.log" 2>&1 || fail "build: $(tail "$work/build.log")"

# --- cmake --install, and a program that embeds Keyfence through the installed files
cmake --install "$work/build" --prefix "$work/prefix" >/dev/null
# With the /usr prefix, GNUInstallDirs chooses Debian's multiarch lib/<triplet>.
libdir=$(cd "$work/prefix" && dirname "$(find . -name libkeyfence_engine.a | head -1)")
libdir=${libdir#./}
for f in bin/keyfence bin/keyfence-vcard "$libdir/libkeyfence_engine.a" include/keyfence/base/result.hpp \
         "$libdir/pkgconfig/keyfence.pc" "$libdir/cmake/keyfence/keyfenceConfig.cmake" lib/udev/rules.d/70-keyfence.rules \
         share/polkit-1/rules.d/50-keyfence-pcscd.rules share/bash-completion/completions/keyfence \
         share/man/man1/keyfence.1 share/man/man5/keyfence-policy.5; do
    [ -e "$work/prefix/$f" ] || fail "not installed: $f"
done
cmake -S "$src/tests/packaging/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
    >"$work/consumer.log" 2>&1 || fail "consumer configure: $(tail "$work/consumer.log")"
cmake --build "$work/consumer" >>"$work/consumer.log" 2>&1 || fail "consumer build: $(tail "$work/consumer.log")"
"$work/consumer/consumer" | grep -q "uri refused: yes; .*hex: cafe" || fail "consumer output"
PKG_CONFIG_PATH=$work/prefix/$libdir/pkgconfig pkg-config --libs keyfence | grep -q -- -lkeyfence_engine || fail "pkg-config"
man -l "$work/prefix/share/man/man1/keyfence.1" 2>/dev/null | grep -q "lockout guard" || fail "man page"
ok "cmake --install: binaries, libraries, headers, CMake package, pkg-config, rules, completion, man pages; a consumer builds and runs"

# --- the Debian package
(cd "$work/build" && cpack -G DEB >"$work/cpack.log" 2>&1) || fail "cpack: $(tail "$work/cpack.log")"
deb=$(ls "$work"/build/keyfence_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libssl3 libp11-3 libpcsclite1 libgpgme11 libassuan0 p11-kit; do
    grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
recommends=$(dpkg-deb -f "$deb" Recommends)
for tool in pcscd gnupg scdaemon; do
    grep -q "$tool" <<<"$recommends" || fail "Recommends lacks $tool: $recommends"
done
contents=$(dpkg-deb -c "$deb")  # whole, so that grep -q cannot cut the pipe (pipefail)
grep -q "usr/bin/keyfenced$" <<<"$contents" || fail "keyfenced not in the package"
grep -q "systemd/user/keyfenced.socket$" <<<"$contents" || fail "keyfenced.socket not in the package"
grep -q "doc/keyfence/user-guide.md$" <<<"$contents" || fail "the user guide is not in the package"
ok "cpack -G DEB: Depends: $depends; Recommends: $recommends"
apt-get install -y -qq "$deb" >"$work/apt.log" 2>&1 || fail "apt-get install: $(tail "$work/apt.log")"
installed=1
[ "$(command -v keyfence)" = /usr/bin/keyfence ] || fail "keyfence not on PATH after install"
/usr/bin/keyfence --version | grep -q "^keyfence 0\." || fail "--version"
rc=0
/usr/bin/keyfence --json doctor >"$work/doctor.json" 2>&1 || rc=$?
[ "$rc" -le 1 ] || fail "doctor exited $rc: $(cat "$work/doctor.json")"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["findings"]' "$work/doctor.json" || fail "doctor output"
[ -f /usr/lib/udev/rules.d/70-keyfence.rules ] || fail "udev rules not installed by the package"
ok "apt-get install ./$(basename "$deb"); keyfence --version and doctor run from /usr/bin"
apt-get remove -y -qq keyfence >/dev/null 2>&1 || fail "apt-get remove"
installed=0
[ ! -e /usr/bin/keyfence ] || fail "keyfence still installed after removal"
ok "apt-get remove keyfence"
echo "$passed passed, 0 failed"
