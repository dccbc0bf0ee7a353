/* SPDX-License-Identifier: MIT */
#ifndef OPENWSL_INI_H
#define OPENWSL_INI_H

#include <stdio.h>

/*
 * The INI dialect of wsl.conf, .wslconfig and wsl-distribution.conf:
 * "[section]" lines, "key = value" lines, comments starting with '#' or
 * ';', blank lines.  Keys and values are trimmed; a value in double or
 * single quotes loses them.  Lines of 2 KiB and more are malformed.
 */
#define INI_LINE_MAX 2048

struct ini_handler {
	/* A key = value line; return nonzero when the value is bad for that key. */
	int (*value)(void *ctx, const char *section, const char *key, const char *value);
	/* A line that is malformed (or whose value was refused), for the caller to report. */
	void (*bad_line)(void *ctx, int lineno, const char *why, const char *line);
	void *ctx;
};

/* Reads IN to its end; returns how many lines were reported as bad. */
int ini_parse(FILE *in, const struct ini_handler *h);

/* Trims white space at both ends, in place. */
char *ini_trim(char *s);

#endif
