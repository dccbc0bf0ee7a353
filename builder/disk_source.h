/* SPDX-License-Identifier: MIT */
#ifndef BUILDER_DISK_SOURCE_H
#define BUILDER_DISK_SOURCE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>

#define SOURCE_BLOCK	(1U << 20)	/* bytes read or decompressed at a time */
#define SOURCE_SLOTS	4		/* decompressed blocks between the threads */

/*
 * A tarball being read, from a file or standard input.  A compressed one
 * is decompressed by a second thread into a few blocks the tar reader
 * reads in place, so decompressing and writing the filesystem overlap on
 * two cores with no copy between them.  xz goes through liblzma directly,
 * straight into those blocks; other compressions through libarchive.
 */
struct tar_source {
	const char *name;		/* for messages */
	struct archive *tar;		/* read entries from this */
	int fd;				/* the input */
	uint64_t size;			/* of a regular input file; 0 for a pipe */
	uint8_t *in;			/* input read ahead of the decompressor */
	size_t in_len;
	uint64_t consumed;		/* input bytes read so far (atomic) */
	/* The decompressing thread, when there is one. */
	struct archive *raw;		/* libarchive's decompressor, when not xz */
	int xz, threaded;
	pthread_t thread;
	/* The blocks it fills, in a ring: filled ones from first on. */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint8_t *slot[SOURCE_SLOTS];
	size_t slot_len[SOURCE_SLOTS];
	unsigned int first, filled;
	int held;			/* the tar reader is reading slot first */
	int done;			/* the decompressor has stopped */
	int drain, stop;		/* its orders: read to the end unread, or stop */
	char error[512];		/* the decompressor's failure, if any */
};

int tar_source_open(struct tar_source *s, const char *from);
/* Input bytes read so far, for progress. */
uint64_t tar_source_consumed(struct tar_source *s);
/*
 * After the last entry: lets the decompressor run to the end of its input,
 * so damage past the archive's end fails too; -1 (with a message) if it
 * failed.  Call tar_source_close() after it.
 */
int tar_source_finish(struct tar_source *s);
/* Stops and joins the decompressor; -1 (with a message) if it failed. */
int tar_source_close(struct tar_source *s);

#endif
