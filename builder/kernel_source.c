// SPDX-License-Identifier: MIT
/*
 * The kernel source: unpack a tarball (or copy a tree) into the work
 * directory, then apply the line's patch series to it.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "mkwslimage.h"

static int copy_data(struct archive *in, struct archive *out)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
			return -1;
	return r == ARCHIVE_EOF ? 0 : -1;
}

/* The tree in dir: the one directory the archive held, or dir itself. */
static char *find_tree(const char *dir)
{
	struct dirent *d;
	char *tree = NULL, *one = NULL;
	int n = 0;
	DIR *dp = opendir(dir);

	if (!dp) {
		pr_err("%s: %s", dir, strerror(errno));
		return NULL;
	}
	while ((d = readdir(dp))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		n++;
		if (d->d_type == DT_DIR && !one)
			one = strdup(d->d_name);
	}
	closedir(dp);
	if (n == 1 && one) {
		if (asprintf(&tree, "%s/%s", dir, one) < 0)
			tree = NULL;
	} else {
		tree = strdup(dir);
	}
	free(one);
	if (!tree)
		pr_err("out of memory");
	return tree;
}

int kernel_unpack(const char *tarball, const char *dir, char **tree, time_t *newest)
{
	struct archive *a, *disk;
	struct archive_entry *e;
	struct progress p;
	struct stat st;
	char path[4096];
	int r, ret = -1;

	*newest = 0;
	*tree = NULL;
	if (stat(tarball, &st) < 0) {
		pr_err("%s: %s", tarball, strerror(errno));
		return -1;
	}
	a = archive_read_new();
	disk = archive_write_disk_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	/* Names get dir prepended below, so absolute ones are refused there. */
	archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
					     ARCHIVE_EXTRACT_SECURE_NODOTDOT |
					     ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	if (archive_read_open_filename(a, tarball, 1 << 16) != ARCHIVE_OK) {
		pr_err("%s: %s", tarball, archive_error_string(a));
		goto out;
	}
	progress_start(&p, "unpacking", st.st_size);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		const char *target = archive_entry_hardlink(e);

		/* Every entry, and every hard link's target, lands under dir. */
		if (name[0] == '/' || (target && target[0] == '/')) {
			progress_end(&p);
			pr_err("%s: %s: absolute path in the archive", tarball, name);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		archive_entry_set_pathname(e, path);
		if (target) {
			snprintf(path, sizeof(path), "%s/%s", dir, target);
			archive_entry_set_hardlink(e, path);
		}
		if (archive_entry_mtime(e) > *newest)
			*newest = archive_entry_mtime(e);
		if (archive_write_header(disk, e) != ARCHIVE_OK ||
		    (archive_entry_size(e) > 0 && copy_data(a, disk) < 0) ||
		    archive_write_finish_entry(disk) != ARCHIVE_OK) {
			progress_end(&p);
			pr_err("%s: %s: %s", tarball, archive_entry_pathname(e),
			       archive_error_string(disk) ? archive_error_string(disk)
							  : archive_error_string(a));
			goto out;
		}
		progress_update(&p, archive_filter_bytes(a, -1));
	}
	progress_end(&p);
	if (r != ARCHIVE_EOF) {
		pr_err("%s: %s", tarball, archive_error_string(a));
		goto out;
	}
	*tree = find_tree(dir);
	ret = *tree ? 0 : -1;
out:
	archive_read_free(a);
	archive_write_free(disk);
	return ret;
}

int kernel_copy_tree(const char *src, const char *dir)
{
	char from[4096];
	const char *argv[] = { "cp", "-a", "--", from, dir, NULL };

	snprintf(from, sizeof(from), "%s/.", src);
	if (run_logged(NULL, NULL, argv) != 0) {
		pr_err("%s: cannot copy the source tree to %s", src, dir);
		return -1;
	}
	return 0;
}

int kernel_series_read(const char *series, char ***names)
{
	FILE *f = fopen(series, "r");
	char *line = NULL, **v = NULL;
	size_t cap = 0;
	int n = 0;

	*names = NULL;
	if (!f) {
		pr_err("%s: %s", series, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *s = line, *end, **nv;

		s += strspn(s, " \t");
		s[strcspn(s, "#\r\n")] = '\0';
		end = s + strlen(s);
		while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*s)
			continue;
		if (strchr(s, '/') || strchr(s, ' ') || s[0] == '.') {
			pr_err("%s: '%s' is not a patch file name in this folder", series, s);
			goto fail;
		}
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			goto fail;
		v = nv;
		v[n] = strdup(s);
		if (!v[n])
			goto fail;
		n++;
	}
	free(line);
	fclose(f);
	*names = v;
	return n;
fail:
	free(line);
	fclose(f);
	kernel_series_free(v, n);
	return -1;
}

void kernel_series_free(char **names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int kernel_apply_patch(const char *dir, const char *patch, const char *shown)
{
	char log[4096], *text = NULL;
	size_t cap = 0;
	const char *argv[] = { "patch", "-p1", "--forward", "--batch", "--fuzz=0",
			       "--no-backup-if-mismatch", "--quiet", "-i", patch, NULL };
	FILE *f;
	int st;

	snprintf(log, sizeof(log), "%s/../patch.log", dir);
	st = run_logged(dir, log, argv);
	if (st == 0)
		return 0;
	pr_err("%s does not apply to this source:", shown);
	f = fopen(log, "r");
	while (f && getline(&text, &cap, f) >= 0)
		fprintf(stderr, "  %s", text);
	free(text);
	if (f)
		fclose(f);
	return -1;
}
