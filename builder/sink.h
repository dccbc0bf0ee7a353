/* SPDX-License-Identifier: MIT */
#ifndef BUILDER_SINK_H
#define BUILDER_SINK_H

#include <stddef.h>
#include <stdio.h>

/*
 * An output stream that compresses on the way to a file.  xz output uses
 * the CRC32 check and LZMA2 alone, which is what the kernel's initramfs
 * decompressor accepts; gzip output has no name and a zero mtime, so
 * neither format records anything but the data.
 */
enum sink_format {
	SINK_NONE,
	SINK_GZIP,
	SINK_XZ,
};

struct sink_state;

struct sink {
	FILE *file;
	const char *name; /* for messages */
	enum sink_format format;
	struct sink_state *state;
	unsigned long long bytes_in;
};

/* Parse "none", "gzip" or "xz"; -1 if it is none of them. */
int sink_format_parse(const char *s, enum sink_format *format);

int sink_open(struct sink *s, FILE *file, const char *name, enum sink_format format);
int sink_write(struct sink *s, const void *buf, size_t len);
/* Flush the compressor's tail; the FILE stays open. */
int sink_finish(struct sink *s);

#endif
