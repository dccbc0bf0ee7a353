// SPDX-License-Identifier: MIT
/* mkwslimage kernel: config fragments are parsed, layered and verified. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../kernel.h"
#include "../mkwslimage.h"

/* Weak: used only while the builder's archive does not define it. */
const char *builder_prog __attribute__((weak)) = "mkwslimage kernel";

/* What pr_err printed while fn ran. */
static char errors[8192];

static void capture_start(int *saved, FILE **tmp)
{
	fflush(stderr);
	*tmp = tmpfile();
	assert_non_null(*tmp);
	*saved = dup(STDERR_FILENO);
	dup2(fileno(*tmp), STDERR_FILENO);
}

static void capture_end(int saved, FILE *tmp)
{
	size_t n;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(errors, 1, sizeof(errors) - 1, tmp);
	errors[n] = '\0';
	fclose(tmp);
}

static int parse_str(struct kconfig *kc, const char *text, const char *from)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int saved, ret;
	FILE *tmp;

	assert_non_null(f);
	capture_start(&saved, &tmp);
	ret = kconfig_parse(kc, f, from);
	capture_end(saved, tmp);
	fclose(f);
	return ret;
}

static void test_parse_values(void **state)
{
	struct kconfig kc;
	const struct kconfig_opt *o;

	kconfig_init(&kc);
	assert_int_equal(parse_str(&kc,
				   "# a comment about the group\n"
				   "\n"
				   "CONFIG_A=y\n"
				   "   CONFIG_B=m  \n"
				   "# CONFIG_C is not set\n"
				   "CONFIG_NR_CPUS=64\n"
				   "CONFIG_CMDLINE=\"console=ttyS0 quiet\"\n"
				   "CONFIG_HEX=0x1000\n"
				   "#CONFIG_D is not set\n"
				   "# CONFIG_E is mentioned in prose, not set\n",
				   "f.config"),
			 0);
	assert_int_equal(kc.n, 7);
	assert_string_equal(kconfig_find(&kc, "CONFIG_A")->value, "y");
	assert_string_equal(kconfig_find(&kc, "CONFIG_B")->value, "m");
	assert_string_equal(kconfig_find(&kc, "CONFIG_C")->value, "n");
	assert_string_equal(kconfig_find(&kc, "CONFIG_NR_CPUS")->value, "64");
	assert_string_equal(kconfig_find(&kc, "CONFIG_CMDLINE")->value, "\"console=ttyS0 quiet\"");
	assert_string_equal(kconfig_find(&kc, "CONFIG_HEX")->value, "0x1000");
	assert_string_equal(kconfig_find(&kc, "CONFIG_D")->value, "n");
	assert_null(kconfig_find(&kc, "CONFIG_E"));
	o = kconfig_find(&kc, "CONFIG_C");
	assert_string_equal(o->from, "f.config");
	assert_int_equal(o->line, 5);
	kconfig_free(&kc);
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
		"CONFIG_A\n",		/* no value */
		"FOO=y\n",		/* not CONFIG_ */
		"CONFIG_=y\n",		/* empty name */
		"CONFIG_A-B=y\n",	/* bad character in the name */
		"CONFIG_A=\n",		/* empty value */
		"CONFIG_A=\"open\n",	/* unterminated string */
		"CONFIG_A=y y\n",	/* junk after the value */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kconfig kc;

		kconfig_init(&kc);
		assert_int_equal(parse_str(&kc, bad[i], "frag.config"), -1);
		/* The message names the file and the line. */
		assert_non_null(strstr(errors, "frag.config:1:"));
		kconfig_free(&kc);
	}
}

/* Layering: a later fragment's setting replaces an earlier one, in place. */
static void test_layering(void **state)
{
	struct kconfig kc;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	kconfig_init(&kc);
	assert_int_equal(parse_str(&kc, "CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\n", "base"), 0);
	assert_int_equal(parse_str(&kc, "# CONFIG_B is not set\nCONFIG_D=y\n", "size"), 0);
	assert_int_equal(kc.n, 4);
	assert_string_equal(kconfig_find(&kc, "CONFIG_B")->value, "n");
	assert_string_equal(kconfig_find(&kc, "CONFIG_B")->from, "size");
	assert_string_equal(kconfig_find(&kc, "CONFIG_A")->from, "base");

	f = open_memstream(&out, &len);
	assert_int_equal(kconfig_write(&kc, f), 0);
	fclose(f);
	assert_string_equal(out, "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\nCONFIG_D=y\n");
	free(out);
	kconfig_free(&kc);
}

static size_t verify(const char *want_text, const char *have_text)
{
	struct kconfig want, have;
	int saved;
	FILE *tmp;
	size_t lost;

	kconfig_init(&want);
	kconfig_init(&have);
	assert_int_equal(parse_str(&want, want_text, "fragments/base.config"), 0);
	assert_int_equal(parse_str(&have, have_text, ".config"), 0);
	capture_start(&saved, &tmp);
	lost = kconfig_verify(&want, &have);
	capture_end(saved, tmp);
	kconfig_free(&want);
	kconfig_free(&have);
	return lost;
}

static void test_verify_survived(void **state)
{
	assert_int_equal(verify("CONFIG_A=y\n# CONFIG_B is not set\n# CONFIG_GONE is not set\n"
				"CONFIG_N=64\n",
				"CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_N=64\nCONFIG_X=y\n"),
			 0);
	assert_string_equal(errors, "");
}

/* An option olddefconfig dropped (its dependency is off): named, with where it came from. */
static void test_verify_dropped(void **state)
{
	assert_int_equal(verify("CONFIG_A=y\nCONFIG_FOO=y\n", "CONFIG_A=y\n"), 1);
	assert_non_null(strstr(errors, "fragments/base.config:2: CONFIG_FOO=y did not survive "
					"olddefconfig"));
	assert_null(strstr(errors, "CONFIG_A"));
}

static void test_verify_changed(void **state)
{
	assert_int_equal(verify("CONFIG_A=y\nCONFIG_B=y\nCONFIG_N=64\n# CONFIG_S is not set\n",
				"CONFIG_A=m\n# CONFIG_B is not set\nCONFIG_N=8\nCONFIG_S=y\n"),
			 4);
	assert_non_null(strstr(errors, "CONFIG_A=y did not survive olddefconfig (it is m)"));
	assert_non_null(strstr(errors, "CONFIG_B=y did not survive olddefconfig (it is not set)"));
	assert_non_null(strstr(errors, "CONFIG_N=64 did not survive olddefconfig (it is 8)"));
	assert_non_null(strstr(errors, "# CONFIG_S is not set did not survive olddefconfig (it is y)"));
}

static void test_series(void **state)
{
	char dir[] = "/tmp/test_kernel_series.XXXXXX", path[256], **names;
	FILE *f;
	int n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/series", dir);
	f = fopen(path, "w");
	fputs("# the order matters\n\n0001-a.patch\n  0002-b.patch  # why\n", f);
	fclose(f);
	n = kernel_series_read(path, &names);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "0001-a.patch");
	assert_string_equal(names[1], "0002-b.patch");
	kernel_series_free(names, n);

	/* A patch from outside the folder is refused. */
	f = fopen(path, "w");
	fputs("../../etc/evil.patch\n", f);
	fclose(f);
	{
		int saved;
		FILE *tmp;

		capture_start(&saved, &tmp);
		n = kernel_series_read(path, &names);
		capture_end(saved, tmp);
	}
	assert_int_equal(n, -1);
	assert_non_null(strstr(errors, "../../etc/evil.patch"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_layering),
		cmocka_unit_test(test_verify_survived),
		cmocka_unit_test(test_verify_dropped),
		cmocka_unit_test(test_verify_changed),
		cmocka_unit_test(test_series),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
