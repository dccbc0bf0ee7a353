/* SPDX-License-Identifier: MIT */
#ifndef BUILDER_OUTFILE_H
#define BUILDER_OUTFILE_H

#include <stdio.h>

/*
 * An output file that appears whole or not at all: written under a
 * temporary name beside the final one, synced, and renamed over it on
 * commit; removed on abort.  Whatever was at the final path before stays
 * untouched until the commit.
 */
struct outfile {
	FILE *file;
	char *path;
	char *tmp_path;
};

int outfile_open(struct outfile *o, const char *path);
int outfile_commit(struct outfile *o);
void outfile_abort(struct outfile *o);

#endif
