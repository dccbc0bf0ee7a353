// SPDX-License-Identifier: MIT
/* The distro store and the user's configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../store.h"
#include "../wsl.h"

static char home[64];

static int setup(void **state)
{
	static struct wsl_paths p;
	char cmd[128];

	snprintf(home, sizeof(home), "/tmp/wsl-test-XXXXXX");
	assert_non_null(mkdtemp(home));
	snprintf(cmd, sizeof(cmd), "%s/data", home);
	setenv("XDG_DATA_HOME", cmd, 1);
	snprintf(cmd, sizeof(cmd), "%s/config", home);
	setenv("XDG_CONFIG_HOME", cmd, 1);
	snprintf(cmd, sizeof(cmd), "%s/run", home);
	mkdir(cmd, 0700);
	setenv("XDG_RUNTIME_DIR", cmd, 1);
	assert_int_equal(wsl_paths_init(&p), 0);
	*state = &p;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	return system(cmd);
}

static void test_paths_follow_xdg(void **state)
{
	const struct wsl_paths *p = *state;
	struct stat st;

	assert_true(strstr(p->data, "/data/openwsl") != NULL);
	assert_true(strstr(p->runtime, "/run/openwsl") != NULL);
	assert_true(strstr(p->config, "/config/wsl/config") != NULL);
	/* Made when first used, and then for its owner alone. */
	assert_int_not_equal(stat(p->runtime, &st), 0);
	assert_int_equal(mkdir_private(p->runtime), 0);
	assert_int_equal(stat(p->runtime, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_names(void **state)
{
	assert_true(store_name_valid("debian"));
	assert_true(store_name_valid("Ubuntu-24.04"));
	assert_false(store_name_valid(""));
	assert_false(store_name_valid("../etc"));
	assert_false(store_name_valid("a/b"));
	assert_false(store_name_valid(".hidden"));
	assert_false(store_name_valid("-flag"));
	assert_false(store_name_valid("with space"));
}

static void test_put_get_list_remove_default(void **state)
{
	const struct wsl_paths *p = *state;
	struct distro_record a = { .name = "zeta", .version = 2, .location = "/x",
				   .disk = "/x/ext4.vhdx", .default_user = "alice", .uid = 1000 };
	struct distro_record b = { .name = "alpha", .version = 2, .disk = "/y/ext4.vhdx" };
	struct distro_record got, *list;
	char def[STORE_NAME_MAX];
	struct store st;
	int n;

	assert_int_equal(store_open(&st, p, true), 0);
	assert_int_equal(store_get(&st, "zeta", &got), -1);
	assert_int_equal(store_put(&st, &a), 0);
	assert_int_equal(store_put(&st, &b), 0);
	assert_int_equal(store_get(&st, "zeta", &got), 0);
	assert_string_equal(got.disk, "/x/ext4.vhdx");
	assert_string_equal(got.default_user, "alice");
	assert_int_equal(got.uid, 1000);
	list = store_list(&st, &n);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "alpha"); /* sorted */
	free(list);

	store_get_default(&st, def, sizeof(def));
	assert_string_equal(def, "");
	assert_int_equal(store_set_default(&st, "zeta"), 0);
	store_get_default(&st, def, sizeof(def));
	assert_string_equal(def, "zeta");
	/* Removing the default distro clears the default. */
	assert_int_equal(store_remove(&st, "zeta"), 0);
	store_get_default(&st, def, sizeof(def));
	assert_string_equal(def, "");
	list = store_list(&st, &n);
	assert_int_equal(n, 1);
	free(list);
	store_close(&st);
}

static void test_damaged_record_is_ignored(void **state)
{
	const struct wsl_paths *p = *state;
	struct distro_record got, *list;
	char path[700];
	struct store st;
	FILE *f;
	int n;

	assert_int_equal(store_open(&st, p, true), 0);
	snprintf(path, sizeof(path), "%s/distros/broken", p->data);
	mkdir(path, 0700);
	strcat(path, "/distro.conf");
	f = fopen(path, "w");
	fputs("name=broken\nversion=9\n", f);
	fclose(f);
	assert_int_equal(store_get(&st, "broken", &got), -1);
	list = store_list(&st, &n);
	for (int i = 0; i < n; i++)
		assert_string_not_equal(list[i].name, "broken");
	free(list);
	store_close(&st);
}

static int parse(struct wsl_config *c, const struct wsl_paths *p, const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int bad;

	wsl_config_defaults(c, p);
	bad = wsl_config_parse(c, f, "config");
	fclose(f);
	return bad;
}

static void test_config(void **state)
{
	const struct wsl_paths *p = *state;
	struct wsl_config c;

	assert_int_equal(parse(&c, p, ""), 0);
	assert_true(c.memory >= (64ULL << 20));
	assert_true(c.processors >= 1);
	assert_int_equal(c.vm_idle_timeout_ms, 60000);
	assert_true(c.localhost_forwarding);

	assert_int_equal(parse(&c, p,
		"[wsl2]\nmemory=4GB\nprocessors = 2\nkernel=/k/bzImage\n"
		"kernelCommandLine = \"quiet loglevel=3\"\nvmIdleTimeout=5000\n"
		"localhostForwarding=false\nautoMemoryReclaim=dropcache\nswap=0\n"
		"[experimental]\nmemory=1\n"), 0);
	assert_int_equal(c.memory, 4ULL << 30);
	assert_int_equal(c.processors, 2);
	assert_string_equal(c.kernel, "/k/bzImage");
	assert_string_equal(c.kernel_command_line, "quiet loglevel=3");
	assert_int_equal(c.vm_idle_timeout_ms, 5000);
	assert_false(c.localhost_forwarding);
	assert_string_equal(c.auto_memory_reclaim, "dropcache");

	assert_int_equal(parse(&c, p, "[wsl2]\nmemory=lots\nprocessors=0\nnonsense\n"
				      "autoMemoryReclaim=sometimes\n"), 4);
	assert_int_equal(c.processors >= 1, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_follow_xdg),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_put_get_list_remove_default),
		cmocka_unit_test(test_damaged_record_is_ignored),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests_name("wsl_store", tests, setup, teardown);
}
