#!/bin/bash
# mkwslimage kernel, end to end on a stand-in kernel tree whose Makefile
# does in milliseconds what kbuild does in minutes (allnoconfig from the
# fragments, olddefconfig dropping an option, bzImage): options, patches,
# fragment verification, manifest, cache, reproducibility, the clean
# environment, and no partial outputs on failure.
set -u
. "$(dirname "$0")/../../tests/lib.sh"
mk=$(realpath "${O:-build}/bin/mkwslimage")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# --- the stand-in kernel source ---
mkdir -p src/linux-fake
cat >src/linux-fake/Makefile <<'EOF'
# CONFIG_DROPPED stands for an option whose dependencies are off.
allnoconfig:
	grep -v '^CONFIG_DROPPED=' $(KCONFIG_ALLCONFIG) >.config
olddefconfig:
	echo CONFIG_DEFAULTED=y >>.config
bzImage:
	@echo "  CC      init/main.o"
	mkdir -p arch/x86/boot include/config
	{ echo "stamp=$(KBUILD_BUILD_TIMESTAMP)"; \
	  echo "who=$(KBUILD_BUILD_USER)@$(KBUILD_BUILD_HOST) v$(KBUILD_BUILD_VERSION)"; \
	  echo "epoch=$(SOURCE_DATE_EPOCH) tz=$(TZ) lc=$(LC_ALL)"; \
	  echo "leak=$(O)$(FOO_LEAK)"; \
	  cat patched.txt .config; } >vmlinux
	cp vmlinux arch/x86/boot/bzImage
	echo 6.1.0-fake >include/config/kernel.release
EOF
echo original >src/linux-fake/patched.txt
tar -C src --mtime=@1600000000 --sort=name --owner=0 --group=0 -cJf linux-fake.tar.xz linux-fake
sha=$(sha256sum linux-fake.tar.xz | cut -d' ' -f1)

# --- a kernel line: one patch, two fragments ---
mkdir -p kp/6.1
cat >kp/6.1/0001-change.patch <<'EOF'
Change the stand-in file, as a real patch in the series would.
--- a/patched.txt
+++ b/patched.txt
@@ -1 +1 @@
-original
+patched
EOF
printf '# the series\n0001-change.patch\n' >kp/6.1/series
printf '# base\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_N=64\n' >kp/6.1/base.config
printf 'CONFIG_SIZE=y\n' >kp/6.1/size.config

kernel() { "$mk" kernel --source linux-fake.tar.xz --patches kp --cache "$tmp/cache" \
	--work "$tmp/work" --fragments base,size "$@"; }

t_check "--help describes the command" sh -c "'$mk' kernel --help | grep -q -- '--fragments'"
"$mk" kernel >/dev/null 2>&1
t_check "no --source and --out: usage error (2)" test $? -eq 2
"$mk" kernel --source x --out y --sha256 abc >/dev/null 2>&1
t_check "a malformed --sha256 is refused (2)" test $? -eq 2

kernel --out wrong --sha256 "$(echo "$sha" | tr 0-9a-f 1-9a-f0)" >log 2>&1
t_check "a wrong --sha256 fails, naming both hashes" \
	sh -c "grep -q 'sha256 is $sha, expected' log && test ! -e wrong"

# --- a good build: the outputs, what reached make, the manifest ---
export SOURCE_DATE_EPOCH=1700000000
mkdir -p work
O=/somewhere FOO_LEAK=x MAKEFLAGS=-k kernel --out out1 --sha256 "$sha" >log 2>&1
t_check "the build succeeds" test -s out1/bzImage -a -s out1/vmlinux -a -s out1/.config \
	-a -s out1/manifest
t_check "the patch series was applied" grep -qx patched out1/vmlinux
t_check "fragments were merged and passed to allnoconfig" \
	sh -c "grep -qx CONFIG_A=y out1/.config && grep -qx 'CONFIG_N=64' out1/.config &&
	       grep -qx '# CONFIG_B is not set' out1/.config && grep -qx CONFIG_SIZE=y out1/.config"
t_check "make saw the fixed timestamp, user, host and version" \
	sh -c "grep -qx 'stamp=Tue Nov 14 22:13:20 UTC 2023' out1/vmlinux &&
	       grep -qx 'who=openwsl@openwsl v1' out1/vmlinux &&
	       grep -qx 'epoch=1700000000 tz=UTC lc=C' out1/vmlinux"
t_check "nothing from the caller's environment reached make" grep -qx 'leak=' out1/vmlinux
t_check "the manifest names every input and output" sh -c "
	grep -q '^input source $sha linux-fake.tar.xz\$' out1/manifest &&
	grep -q '^input patch $(sha256sum kp/6.1/0001-change.patch | cut -c1-64) 0001-change.patch\$' out1/manifest &&
	grep -q '^input fragment $(sha256sum kp/6.1/base.config | cut -c1-64) base.config\$' out1/manifest &&
	grep -q '^input fragment $(sha256sum kp/6.1/size.config | cut -c1-64) size.config\$' out1/manifest &&
	grep -q '^compiler gcc' out1/manifest && grep -q '^linker GNU ld' out1/manifest &&
	grep -q '^output $(sha256sum out1/bzImage | cut -c1-64) [0-9]* bzImage\$' out1/manifest &&
	grep -q '^output $(sha256sum out1/vmlinux | cut -c1-64) [0-9]* vmlinux\$' out1/manifest &&
	grep -q '^release 6.1.0-fake\$' out1/manifest"
key=$(sed -n 's/^cache-key //p' out1/manifest)
t_check "the cache holds the build under its key" cmp out1/bzImage "cache/$key/bzImage"
t_check "the work directory is gone after success" sh -c "test -z \"\$(ls -A work)\""

# --- the cache ---
mv src/linux-fake/Makefile src/Makefile.away # a cache hit must not need make at all
kernel --out out2 >/dev/null 2>&1
t_check "a cache hit gives the same outputs" sh -c "cmp out1/bzImage out2/bzImage &&
	cmp out1/manifest out2/manifest && cmp out1/.config out2/.config"
mv src/Makefile.away src/linux-fake/Makefile
echo "this is not a kernel" >"cache/$key/vmlinux"
kernel --out out3 >/dev/null 2>&1
t_check "a damaged cache entry is rebuilt, not used" cmp out1/vmlinux out3/vmlinux
printf 'CONFIG_SIZE=y\nCONFIG_MORE=y\n' >kp/6.1/size.config
kernel --out out4 >/dev/null 2>&1
t_check "a changed fragment is a new cache entry" sh -c "
	! grep -q 'cache-key $key' out4/manifest && grep -qx CONFIG_MORE=y out4/.config"
printf 'CONFIG_SIZE=y\n' >kp/6.1/size.config

# --- SOURCE_DATE_EPOCH from the source ---
unset SOURCE_DATE_EPOCH
kernel --out out5 >/dev/null 2>&1
t_check "without SOURCE_DATE_EPOCH the time is the newest in the tarball" \
	sh -c "grep -qx 'epoch=1600000000 tz=UTC lc=C' out5/vmlinux &&
	       grep -q '^epoch 1600000000\$' out5/manifest"
kernel --source src/linux-fake/ --out out6 >/dev/null 2>&1
t_check "an unpacked tree works as --source" sh -c "grep -qx patched out6/vmlinux &&
	grep -q '^input source [0-9a-f]* linux-fake\$' out6/manifest"
export SOURCE_DATE_EPOCH=1700000000

# --- failures: clear, naming what failed, nothing written ---
printf 'CONFIG_A=y\nCONFIG_DROPPED=y\n' >kp/6.1/drop.config
kernel --fragments base,drop --out bad1 >log 2>&1
rc=$?
t_check "a fragment option olddefconfig dropped fails the build, named" sh -c "
	test $rc -ne 0 && grep -q 'kp/6.1/drop.config:2: CONFIG_DROPPED=y did not survive olddefconfig' log &&
	test ! -e bad1"
t_check "the options that survived are not reported" sh -c "! grep -q 'CONFIG_A=y did not' log"

cp kp/6.1/0001-change.patch kp/6.1/0002-stale.patch
printf '0001-change.patch\n0002-stale.patch\n' >kp/6.1/series
kernel --out bad2 >log 2>&1
rc=$?
t_check "a patch that does not apply fails, named" sh -c "
	test $rc -ne 0 && grep -q '^mkwslimage kernel: kp/6.1/0002-stale.patch does not apply' log &&
	test ! -e bad2"
printf '0001-change.patch\n' >kp/6.1/series

mkdir bad3 && echo keep >bad3/bzImage
printf 'CONFIG_A=y\nnot an option\n' >kp/6.1/junk.config
kernel --fragments base,junk --out bad3 >log 2>&1
t_check "a malformed fragment line is named; the old output is untouched" sh -c "
	grep -q 'junk.config:2: expected CONFIG_NAME=value' log && grep -qx keep bad3/bzImage"
kernel --line 9.9 --out bad4 >log 2>&1
t_check "an unknown line is refused" grep -q 'kp/9.9: no such kernel line' log
rm -rf work/*

# --- reproducibility: a second build in another directory, recorded ---
kernel --out out7 --reproduce >/dev/null 2>&1
rc=$?
key=$(sed -n 's/^cache-key //p' out7/manifest)
t_check "--reproduce: the second build matches, and is recorded" \
	sh -c "test $rc -eq 0 && grep -q '^cache-key $key\$' cache/$key/reproduced &&
	       grep -q '^identical $(sha256sum out7/bzImage | cut -c1-64) bzImage\$' out7/reproduced &&
	       cmp cache/$key/reproduced out7/reproduced"
mv src/linux-fake/Makefile src/Makefile.away
t_check "--reproduce again: the record is enough, no build" sh -c "
	'$mk' kernel --source linux-fake.tar.xz --patches kp --cache '$tmp/cache' --work '$tmp/work' \
		--fragments base,size --out out8 --reproduce && cmp out7/reproduced out8/reproduced"
mv src/Makefile.away src/linux-fake/Makefile

# A tree whose build writes its own path into vmlinux is not reproducible.
sed -i 's/cat patched.txt .config;/cat patched.txt .config; echo $(CURDIR);/' src/linux-fake/Makefile
tar -C src --mtime=@1600000000 --sort=name -cJf linux-fake.tar.xz linux-fake
kernel --out out9 --reproduce >log 2>&1
rc=$?
t_check "--reproduce catches a build that depends on its directory" sh -c "
	test $rc -ne 0 && grep -q 'not reproducible' log && grep -q 'vmlinux: sha256' log"

t_done
