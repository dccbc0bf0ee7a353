// SPDX-License-Identifier: MIT
/* Finding our 9p mounts in a mount table (mounts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../mounts.h"

static char table[64];

/* Lines in the kernel's format: space, tab, newline and backslash as \ooo. */
static const char *const lines[] = {
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
	"30 22 0:40 / /mnt/a\\040b rw,nosuid,nodev,relatime shared:7 master:2 - 9p "
	"openwsl:/run/user/1000/openwsl:tiny rw,access=client,trans=fd,rfdno=3,wfdno=3",
	"31 22 0:41 / /srv/x rw - 9p openwsl:/tmp/my\\040run:alpine rw,trans=fd",
	"32 22 0:42 / /srv/y rw - 9p openwsl:/run/user/1000/openwsl2:tiny rw",
	"33 22 0:43 / /srv/z rw - tmpfs openwsl:/run/user/1000/openwsl:fake rw",
	"34 22 0:44 / /srv/x rw - tmpfs over rw",
	"this line is not a mount",
	"35 22 0:45 / /srv/short rw -",
};

static int setup(void **state)
{
	FILE *f;
	int fd;

	snprintf(table, sizeof(table), "/tmp/wsl-mountinfo-XXXXXX");
	fd = mkstemp(table);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		fprintf(f, "%s\n", lines[i]);
	fclose(f);
	wsl_mountinfo = table;
	return 0;
}

static int teardown(void **state)
{
	unlink(table);
	return 0;
}

static void test_source_names_the_runtime_and_distro(void **state)
{
	char s[128];

	wsl_mount_source(s, sizeof(s), "/run/user/1000/openwsl", "tiny");
	assert_string_equal(s, "openwsl:/run/user/1000/openwsl:tiny");
}

static void test_lookup_unescapes_and_takes_the_top_mount(void **state)
{
	char type[32], source[128];

	assert_int_equal(wsl_mount_lookup("/mnt/a b", type, sizeof(type), source, sizeof(source)),
			 1);
	assert_string_equal(type, "9p");
	assert_string_equal(source, "openwsl:/run/user/1000/openwsl:tiny");
	assert_int_equal(wsl_mount_lookup("/srv/x", type, sizeof(type), source, sizeof(source)), 1);
	assert_string_equal(type, "tmpfs"); /* mounted over the 9p one */
	assert_int_equal(wsl_mount_lookup("/mnt/a\\040b", type, sizeof(type), source,
					  sizeof(source)), 0);
	assert_int_equal(wsl_mount_lookup("/nowhere", type, sizeof(type), source, sizeof(source)),
			 0);
	assert_int_equal(wsl_mount_lookup("/srv/short", type, sizeof(type), source,
					  sizeof(source)), 0);
}

static void test_mounts_of_counts_only_that_runtimes_9p_mounts(void **state)
{
	assert_int_equal(wsl_mounts_of("/run/user/1000/openwsl"), 1);
	assert_int_equal(wsl_mounts_of("/run/user/1000/openwsl2"), 1);
	assert_int_equal(wsl_mounts_of("/tmp/my run"), 1);
	assert_int_equal(wsl_mounts_of("/run/user/1000"), 0);
	assert_int_equal(wsl_mounts_of("/elsewhere"), 0);
}

static void test_an_unreadable_table(void **state)
{
	char type[32], source[128];

	wsl_mountinfo = "/nonexistent/mountinfo";
	assert_int_equal(wsl_mount_lookup("/", type, sizeof(type), source, sizeof(source)), -1);
	assert_int_equal(wsl_mounts_of("/run/user/1000/openwsl"), 0);
	wsl_mountinfo = table;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_names_the_runtime_and_distro),
		cmocka_unit_test(test_lookup_unescapes_and_takes_the_top_mount),
		cmocka_unit_test(test_mounts_of_counts_only_that_runtimes_9p_mounts),
		cmocka_unit_test(test_an_unreadable_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
