// SPDX-License-Identifier: MIT
/*
 * Kernel config fragments: read them, layer them (a later fragment wins),
 * write the merged result, and check a .config against what was asked.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "mkwslimage.h"

void kconfig_init(struct kconfig *kc)
{
	memset(kc, 0, sizeof(*kc));
}

void kconfig_free(struct kconfig *kc)
{
	size_t i;

	for (i = 0; i < kc->n; i++) {
		free(kc->opts[i].name);
		free(kc->opts[i].value);
	}
	free(kc->opts);
	kconfig_init(kc);
}

const struct kconfig_opt *kconfig_find(const struct kconfig *kc, const char *name)
{
	size_t i;

	for (i = 0; i < kc->n; i++)
		if (!strcmp(kc->opts[i].name, name))
			return &kc->opts[i];
	return NULL;
}

static int kconfig_set(struct kconfig *kc, const char *name, size_t name_len,
		       const char *value, const char *from, unsigned int line)
{
	struct kconfig_opt *o;
	char *n, *v;
	size_t i;

	n = strndup(name, name_len);
	v = strdup(value);
	if (!n || !v)
		goto nomem;
	for (i = 0; i < kc->n; i++) {
		o = &kc->opts[i];
		if (!strcmp(o->name, n)) {
			free(n);
			free(o->value);
			o->value = v;
			o->from = from;
			o->line = line;
			return 0;
		}
	}
	if (kc->n == kc->cap) {
		size_t cap = kc->cap ? kc->cap * 2 : 64;
		struct kconfig_opt *p = realloc(kc->opts, cap * sizeof(*p));

		if (!p)
			goto nomem;
		kc->opts = p;
		kc->cap = cap;
	}
	kc->opts[kc->n++] = (struct kconfig_opt){ n, v, from, line };
	return 0;
nomem:
	free(n);
	free(v);
	pr_err("%s: out of memory", from);
	return -1;
}

static int valid_name(const char *s, size_t len)
{
	size_t i;

	if (len <= 7 || strncmp(s, "CONFIG_", 7))
		return 0;
	for (i = 7; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* A value as Kconfig writes it: y, m, n, a number, or a quoted string. */
static int valid_value(const char *v)
{
	size_t len = strlen(v);

	if (!len)
		return 0;
	if (v[0] == '"')
		return len >= 2 && v[len - 1] == '"';
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && *v != '-' && *v != '_')
			return 0;
	return 1;
}

static int parse_line(struct kconfig *kc, char *s, const char *from, unsigned int line)
{
	size_t len = strlen(s);
	char *eq;

	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
		       s[len - 1] == '\t'))
		s[--len] = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return 0;
	if (*s == '#') {
		/* "# CONFIG_FOO is not set" turns an option off; other comments are prose. */
		const char *name = s + 1, *end;

		while (*name == ' ')
			name++;
		if (strncmp(name, "CONFIG_", 7))
			return 0;
		end = name + strcspn(name, " \t=");
		if (strcmp(end, " is not set"))
			return 0;
		if (!valid_name(name, end - name)) {
			pr_err("%s:%u: '%.*s' is not a config option name", from, line,
			       (int)(end - name), name);
			return -1;
		}
		return kconfig_set(kc, name, end - name, "n", from, line);
	}
	eq = strchr(s, '=');
	if (!eq || !valid_name(s, eq - s)) {
		pr_err("%s:%u: expected CONFIG_NAME=value or '# CONFIG_NAME is not set', got '%s'",
		       from, line, s);
		return -1;
	}
	if (!valid_value(eq + 1)) {
		pr_err("%s:%u: %.*s has no valid value ('%s')", from, line, (int)(eq - s), s,
		       eq + 1);
		return -1;
	}
	return kconfig_set(kc, s, eq - s, eq + 1, from, line);
}

int kconfig_parse(struct kconfig *kc, FILE *f, const char *from)
{
	char *buf = NULL;
	size_t cap = 0;
	unsigned int line = 0;
	int ret = 0;

	while (getline(&buf, &cap, f) >= 0) {
		line++;
		if (parse_line(kc, buf, from, line) < 0) {
			ret = -1;
			break;
		}
	}
	if (!ret && ferror(f)) {
		pr_err("%s: read error: %s", from, strerror(errno));
		ret = -1;
	}
	free(buf);
	return ret;
}

int kconfig_parse_file(struct kconfig *kc, const char *path, const char *from)
{
	FILE *f = fopen(path, "r");
	int ret;

	if (!f) {
		pr_err("%s: %s", from, strerror(errno));
		return -1;
	}
	ret = kconfig_parse(kc, f, from);
	fclose(f);
	return ret;
}

int kconfig_write(const struct kconfig *kc, FILE *f)
{
	size_t i;

	for (i = 0; i < kc->n; i++) {
		const struct kconfig_opt *o = &kc->opts[i];

		if (!strcmp(o->value, "n"))
			fprintf(f, "# %s is not set\n", o->name);
		else
			fprintf(f, "%s=%s\n", o->name, o->value);
	}
	return ferror(f) ? -1 : 0;
}

static void describe(const struct kconfig_opt *o, char *buf, size_t len)
{
	if (!strcmp(o->value, "n"))
		snprintf(buf, len, "# %s is not set", o->name);
	else
		snprintf(buf, len, "%s=%s", o->name, o->value);
}

size_t kconfig_verify(const struct kconfig *want, const struct kconfig *have)
{
	size_t i, lost = 0;

	for (i = 0; i < want->n; i++) {
		const struct kconfig_opt *w = &want->opts[i];
		const struct kconfig_opt *h = kconfig_find(have, w->name);
		const char *now = h ? h->value : "n";
		char asked[256];

		if (!strcmp(now, w->value))
			continue;
		describe(w, asked, sizeof(asked));
		lost++;
		if (!h)
			pr_err("%s:%u: %s did not survive olddefconfig (the option does not exist or its dependencies are off)",
			       w->from, w->line, asked);
		else
			pr_err("%s:%u: %s did not survive olddefconfig (it is %s)", w->from,
			       w->line, asked, !strcmp(now, "n") ? "not set" : now);
	}
	return lost;
}
