// SPDX-License-Identifier: MIT
/* The init's kernel command line and wsl.conf parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../config.h"
#include "../reclaim.h"
#include "proto.h"

static char warnings[4096];
static int n_warnings;

static void collect(const char *msg)
{
	n_warnings++;
	strncat(warnings, msg, sizeof(warnings) - strlen(warnings) - 2);
	strcat(warnings, "\n");
}

static int setup(void **state)
{
	warnings[0] = '\0';
	n_warnings = 0;
	return 0;
}

static void test_cmdline_full(void **state)
{
	struct boot_config c;

	assert_int_equal(boot_config_parse(&c,
		"console=ttyS0 wsl.distro=debian:disk0 quiet wsl.distro=alpine:disk1 "
		"wsl.share=home wsl.share=src:/src wsl.hostname=box wsl.address=10.0.2.15/24 "
		"wsl.gateway=10.0.2.2 wsl.dns=10.0.2.3 wsl.port=6000 panic=-1\n", collect), 0);
	assert_int_equal(c.n_distros, 2);
	assert_string_equal(c.distros[0].name, "debian");
	assert_string_equal(c.distros[0].serial, "disk0");
	assert_string_equal(boot_config_distro(&c, "alpine")->serial, "disk1");
	assert_null(boot_config_distro(&c, "ubuntu"));
	assert_int_equal(c.n_shares, 2);
	assert_string_equal(c.shares[0].tag, "home");
	assert_string_equal(c.shares[0].path, "");
	assert_string_equal(c.shares[1].path, "/src");
	assert_string_equal(c.hostname, "box");
	assert_string_equal(c.address, "10.0.2.15/24");
	assert_string_equal(c.gateway, "10.0.2.2");
	assert_int_equal(c.n_dns, 1);
	assert_int_equal(c.port, 6000);
	assert_int_equal(n_warnings, 0);
}

static void test_cmdline_defaults(void **state)
{
	struct boot_config c;

	assert_int_equal(boot_config_parse(&c, "", collect), 0);
	assert_int_equal(c.port, PROTO_PORT);
	assert_int_equal(c.n_distros, 0);
	assert_string_equal(c.hostname, "wsl");
}

static void test_cmdline_malformed(void **state)
{
	struct boot_config c;

	assert_int_equal(boot_config_parse(&c,
		"wsl.distro=nocolon wsl.distro=a:b wsl.distro=a:c wsl.distro=bad/name:x "
		"wsl.share=t:relative wsl.share=t:/a/../b wsl.port=0 wsl.port=12x wsl.bogus=1 "
		"wsl.hostname wsl.address=10.0.0.1", collect), 10);
	assert_int_equal(c.n_distros, 1);
	assert_int_equal(c.n_shares, 0);
	assert_int_equal(c.port, PROTO_PORT);
	assert_non_null(strstr(warnings, "wsl.distro=nocolon: expected NAME:DISK-SERIAL"));
	assert_non_null(strstr(warnings, "wsl.distro=a:c: distro named twice"));
	assert_non_null(strstr(warnings, "wsl.bogus=1: unknown key"));
}

static int parse_conf(struct wsl_conf *c, const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int bad;

	assert_non_null(f);
	wsl_conf_defaults(c);
	bad = wsl_conf_parse(c, f, collect);
	fclose(f);
	return bad;
}

static void test_wslconf_defaults(void **state)
{
	struct wsl_conf c;

	assert_int_equal(parse_conf(&c, ""), 0);
	assert_true(c.automount_enabled);
	assert_string_equal(c.automount_root, "/mnt/host/");
	assert_true(c.generate_hosts);
	assert_true(c.generate_resolv_conf);
	assert_false(c.boot_systemd);
	assert_string_equal(c.default_user, "");
}

static void test_wslconf_keys(void **state)
{
	struct wsl_conf c;

	assert_int_equal(parse_conf(&c,
		"# comment\n"
		"[automount]\n"
		"enabled = false\n"
		"root = /windir\n"
		"options = \"metadata,umask=22\"\n"
		"[network]\n"
		"generateHosts=false\n"
		"generateResolvConf = FALSE\n"
		"hostname = devbox\n"
		"[interop]\n"
		"enabled = false\n"
		"[boot]\n"
		"command = service ssh start\n"
		"systemd = true\n"
		"[user]\n"
		"default = alice\n"
		"unknownKey = whatever\n"), 0);
	assert_false(c.automount_enabled);
	assert_string_equal(c.automount_root, "/windir/");
	assert_string_equal(c.automount_options, "metadata,umask=22");
	assert_false(c.generate_hosts);
	assert_false(c.generate_resolv_conf);
	assert_string_equal(c.hostname, "devbox");
	assert_string_equal(c.boot_command, "service ssh start");
	assert_true(c.boot_systemd);
	assert_string_equal(c.default_user, "alice");
}

static void test_wslconf_malformed_lines_are_reported_and_skipped(void **state)
{
	struct wsl_conf c;

	assert_int_equal(parse_conf(&c,
		"[boot\n"
		"systemd = true\n"
		"[boot]\n"
		"systemd = maybe\n"
		"just words\n"
		"[automount]\n"
		"root = relative\n"
		"[user]\n"
		"default = bob\n"), 4);
	assert_false(c.boot_systemd);
	assert_string_equal(c.automount_root, "/mnt/host/");
	assert_string_equal(c.default_user, "bob");
	assert_non_null(strstr(warnings, "wsl.conf:1: malformed section"));
	assert_non_null(strstr(warnings, "wsl.conf:4: bad value for boot.systemd: 'maybe'"));
	assert_non_null(strstr(warnings, "wsl.conf:5: expected key = value"));
	assert_non_null(strstr(warnings, "wsl.conf:7: bad value for automount.root"));
}

static void test_cmdline_reclaim(void **state)
{
	struct boot_config c;

	assert_int_equal(boot_config_parse(&c, "", collect), 0);
	assert_int_equal(c.reclaim, RECLAIM_GRADUAL);
	assert_int_equal(c.reclaim_idle_seconds, RECLAIM_IDLE_SECONDS);
	assert_int_equal(boot_config_parse(&c, "wsl.reclaim=dropcache wsl.reclaim_idle=5", collect), 0);
	assert_int_equal(c.reclaim, RECLAIM_DROPCACHE);
	assert_int_equal(c.reclaim_idle_seconds, 5);
	assert_int_equal(boot_config_parse(&c, "wsl.reclaim=sometimes wsl.reclaim_idle=0", collect), 2);
}

static void test_reclaim_policy(void **state)
{
	const uint64_t MiB = 1ULL << 20, GiB = 1ULL << 30;

	/* RAM/32, clamped to 256 MiB..1 GiB. */
	assert_int_equal(reclaim_step(2 * GiB, 2 * GiB), 256 * MiB);
	assert_int_equal(reclaim_step(16 * GiB, 8 * GiB), 512 * MiB);
	assert_int_equal(reclaim_step(64 * GiB, 32 * GiB), 1 * GiB);
	/* 128 MiB of cache always stays. */
	assert_int_equal(reclaim_step(16 * GiB, 200 * MiB), 72 * MiB);
	assert_int_equal(reclaim_step(16 * GiB, 100 * MiB), 0);
	/* Idle: at most 0.5 % busy. */
	assert_true(reclaim_cpu_idle(5, 1000));
	assert_false(reclaim_cpu_idle(6, 1000));
	assert_false(reclaim_cpu_idle(0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cmdline_full, setup),
		cmocka_unit_test_setup(test_cmdline_defaults, setup),
		cmocka_unit_test_setup(test_cmdline_malformed, setup),
		cmocka_unit_test_setup(test_cmdline_reclaim, setup),
		cmocka_unit_test_setup(test_reclaim_policy, setup),
		cmocka_unit_test_setup(test_wslconf_defaults, setup),
		cmocka_unit_test_setup(test_wslconf_keys, setup),
		cmocka_unit_test_setup(test_wslconf_malformed_lines_are_reported_and_skipped, setup),
	};

	return cmocka_run_group_tests_name("init_config", tests, NULL, NULL);
}
