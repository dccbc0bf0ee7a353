// SPDX-License-Identifier: MIT
/* The INI reader shared by the init and wsl (see ini.h). */
#include <ctype.h>
#include <string.h>

#include "ini.h"

char *ini_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static char *unquote(char *v)
{
	size_t len = strlen(v);

	if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
		v[len - 1] = '\0';
		return v + 1;
	}
	return v;
}

static int bad(const struct ini_handler *h, int lineno, const char *why, const char *line)
{
	if (h->bad_line)
		h->bad_line(h->ctx, lineno, why, line);
	return 1;
}

int ini_parse(FILE *in, const struct ini_handler *h)
{
	char line[INI_LINE_MAX], section[64] = "";
	int lineno = 0, n_bad = 0;

	while (fgets(line, sizeof(line), in)) {
		char *s, *eq, *end;
		int ch;

		lineno++;
		if (!strchr(line, '\n') && !feof(in)) {
			/* Skip the rest of an over-long line. */
			while ((ch = fgetc(in)) != EOF && ch != '\n')
				;
			n_bad += bad(h, lineno, "line too long", "");
			continue;
		}
		s = ini_trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			end = strchr(s, ']');
			if (!end || end[1] || end - s - 1 >= (long)sizeof(section)) {
				n_bad += bad(h, lineno, "malformed section", s);
				/* Keys until the next good section belong to no section. */
				strcpy(section, "\x01");
				continue;
			}
			*end = '\0';
			strcpy(section, ini_trim(s + 1));
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			n_bad += bad(h, lineno, "expected key = value", s);
			continue;
		}
		*eq = '\0';
		if (!strcmp(section, "\x01"))
			continue;
		if (h->value(h->ctx, section, ini_trim(s), unquote(ini_trim(eq + 1)))) {
			char what[INI_LINE_MAX + 64];

			snprintf(what, sizeof(what), "%s.%s: '%s'", section, ini_trim(s),
				 unquote(ini_trim(eq + 1)));
			n_bad += bad(h, lineno, "bad value for", what);
		}
	}
	return n_bad;
}
