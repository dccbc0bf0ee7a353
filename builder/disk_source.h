/* SPDX-License-Identifier: MIT */
#ifndef BUILDER_DISK_SOURCE_H
#define BUILDER_DISK_SOURCE_H

#include <pthread.h>
#include <stdint.h>

#include <archive.h>

/*
 * A tarball being read, from a file or standard input.  A compressed one
 * is decompressed by a second thread into a pipe the tar reader reads, so
 * decompressing and writing the filesystem overlap on two cores.
 */
struct tar_source {
	const char *name;		/* for messages */
	struct archive *tar;		/* read entries from this */
	int fd;				/* the input */
	uint64_t size;			/* of a regular input file; 0 for a pipe */
	/* The decompressing thread, when there is one. */
	struct archive *raw;
	pthread_t thread;
	int threaded, pipe_read, pipe_write;
	uint64_t consumed;		/* input bytes read so far (atomic) */
	char error[512];		/* the decompressor's failure, if any */
};

int tar_source_open(struct tar_source *s, const char *from);
/* Input bytes read so far, for progress. */
uint64_t tar_source_consumed(struct tar_source *s);
/* Stops and joins the decompressor; -1 (with a message) if it failed. */
int tar_source_close(struct tar_source *s);

#endif
