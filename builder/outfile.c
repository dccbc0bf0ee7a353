// SPDX-License-Identifier: MIT
/* Whole-or-nothing output files (see outfile.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mkwslimage.h"
#include "outfile.h"

int outfile_open(struct outfile *o, const char *path)
{
	int fd;

	memset(o, 0, sizeof(*o));
	o->path = strdup(path);
	if (!o->path || asprintf(&o->tmp_path, "%s.tmp.XXXXXX", path) < 0) {
		pr_err("out of memory");
		free(o->path);
		return -1;
	}
	fd = mkstemp(o->tmp_path);
	if (fd < 0) {
		pr_err("%s: cannot create: %s", path, strerror(errno));
		goto fail;
	}
	/* mkstemp makes it 0600; an output is an ordinary file. */
	fchmod(fd, 0644 & ~umask(umask(0)));
	o->file = fdopen(fd, "w");
	if (!o->file) {
		pr_err("%s: %s", o->tmp_path, strerror(errno));
		close(fd);
		unlink(o->tmp_path);
		goto fail;
	}
	return 0;
fail:
	free(o->path);
	free(o->tmp_path);
	o->path = o->tmp_path = NULL;
	return -1;
}

static void outfile_release(struct outfile *o)
{
	free(o->path);
	free(o->tmp_path);
	o->path = o->tmp_path = NULL;
	o->file = NULL;
}

int outfile_commit(struct outfile *o)
{
	int ret = 0;

	if (fflush(o->file) || fsync(fileno(o->file))) {
		pr_err("%s: write failed: %s", o->path, strerror(errno));
		ret = -1;
	}
	if (fclose(o->file) && !ret) {
		pr_err("%s: write failed: %s", o->path, strerror(errno));
		ret = -1;
	}
	o->file = NULL;
	if (!ret && rename(o->tmp_path, o->path)) {
		pr_err("%s: cannot rename into place: %s", o->path, strerror(errno));
		ret = -1;
	}
	if (ret)
		unlink(o->tmp_path);
	outfile_release(o);
	return ret;
}

void outfile_abort(struct outfile *o)
{
	if (o->file)
		fclose(o->file);
	if (o->tmp_path)
		unlink(o->tmp_path);
	outfile_release(o);
}
