// SPDX-License-Identifier: MIT
/* The shared INI reader: sections, quotes, comments, malformed lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ini.h"

static char seen[4096];

static int on_value(void *ctx, const char *section, const char *key, const char *value)
{
	char line[512];

	snprintf(line, sizeof(line), "%s|%s|%s\n", section, key, value);
	strncat(seen, line, sizeof(seen) - strlen(seen) - 1);
	return !strcmp(value, "refuse");
}

static void on_bad(void *ctx, int lineno, const char *why, const char *line)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "BAD %d %s\n", lineno, why);
	strncat(seen, msg, sizeof(seen) - strlen(seen) - 1);
}

static int parse(const char *text)
{
	struct ini_handler h = { .value = on_value, .bad_line = on_bad };
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int n;

	seen[0] = '\0';
	n = ini_parse(f, &h);
	fclose(f);
	return n;
}

static void test_sections_keys_quotes_comments(void **state)
{
	assert_int_equal(parse("top = 1\n# c\n; c\n\n[ a ]\n  k =  v  \nq = \"x y\"\n"
			       "s = 'z'\nempty =\n[b]\nk=v=w\n"), 0);
	assert_string_equal(seen, "|top|1\na|k|v\na|q|x y\na|s|z\na|empty|\nb|k|v=w\n");
}

static void test_malformed_lines(void **state)
{
	char text[3 * INI_LINE_MAX];

	assert_int_equal(parse("[open\nk=v\nnoequals\n[ok]\nk=refuse\nk=fine\n"), 3);
	assert_string_equal(seen, "BAD 1 malformed section\nBAD 3 expected key = value\n"
				  "ok|k|refuse\nBAD 5 bad value for\nok|k|fine\n");
	/* An over-long line is one bad line; the next line is read normally. */
	memset(text, 'x', sizeof(text));
	strcpy(text + 2 * INI_LINE_MAX, "\nk=v\n");
	text[0] = '[';
	text[1] = 'a';
	text[2] = ']';
	text[3] = '\n';
	assert_int_equal(parse(text), 1);
	assert_non_null(strstr(seen, "line too long"));
	assert_non_null(strstr(seen, "a|k|v"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections_keys_quotes_comments),
		cmocka_unit_test(test_malformed_lines),
	};

	return cmocka_run_group_tests_name("ini", tests, NULL, NULL);
}
