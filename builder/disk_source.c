// SPDX-License-Identifier: MIT
/* Reading a tarball once, decompressing on a second core (see disk_source.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk_source.h"
#include "mkwslimage.h"

#define SOURCE_BLOCK	(1U << 20)

static void *decompress(void *arg)
{
	struct tar_source *s = arg;
	char *buf = malloc(SOURCE_BLOCK);
	sigset_t pipe_signal;
	la_ssize_t n;

	/* A reader that stopped early gives EPIPE here, not a process-killing signal. */
	sigemptyset(&pipe_signal);
	sigaddset(&pipe_signal, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_signal, NULL);
	if (!buf) {
		snprintf(s->error, sizeof(s->error), "out of memory");
		goto out;
	}
	while ((n = archive_read_data(s->raw, buf, SOURCE_BLOCK)) > 0) {
		for (la_ssize_t done = 0; done < n;) {
			ssize_t w = write(s->pipe_write, buf + done, n - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				goto out;	/* the reader stopped: it reports why */
			done += w;
		}
		__atomic_store_n(&s->consumed, archive_filter_bytes(s->raw, -1), __ATOMIC_RELAXED);
	}
	if (n < 0) {
		const char *why = archive_error_string(s->raw);

		/* liblzma's words for a stream that stops in the middle. */
		if (strstr(why, "No progress is possible"))
			snprintf(s->error, sizeof(s->error),
				 "%s (the compressed stream ends early: truncated?)", why);
		else
			snprintf(s->error, sizeof(s->error), "%s", why);
	}
out:
	free(buf);
	close(s->pipe_write);
	s->pipe_write = -1;
	return NULL;
}

/* Opens the input as a raw stream through every decompression filter; 1 if compressed. */
static int open_raw(struct tar_source *s)
{
	struct archive_entry *entry;

	s->raw = archive_read_new();
	if (!s->raw || archive_read_support_filter_all(s->raw) ||
	    archive_read_support_format_raw(s->raw) ||
	    archive_read_open_fd(s->raw, s->fd, SOURCE_BLOCK) ||
	    archive_read_next_header(s->raw, &entry) != ARCHIVE_OK) {
		pr_err("%s: %s", s->name, s->raw ? archive_error_string(s->raw) : "out of memory");
		return -1;
	}
	/* The "none" filter is always there; more means compressed. */
	return archive_filter_count(s->raw) > 1;
}

static int open_tar(struct tar_source *s, int fd)
{
	s->tar = archive_read_new();
	if (!s->tar || archive_read_support_filter_all(s->tar) ||
	    archive_read_support_format_tar(s->tar) ||
	    archive_read_open_fd(s->tar, fd, SOURCE_BLOCK)) {
		pr_err("%s: %s", s->name, s->tar ? archive_error_string(s->tar) : "out of memory");
		return -1;
	}
	return 0;
}

int tar_source_open(struct tar_source *s, const char *from)
{
	int pipe_fds[2], compressed;
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->name = from;
	s->fd = s->pipe_read = s->pipe_write = -1;
	s->fd = strcmp(from, "-") ? open(from, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (s->fd < 0) {
		pr_err("%s: %s", from, strerror(errno));
		return -1;
	}
	if (!fstat(s->fd, &st) && S_ISREG(st.st_mode))
		s->size = st.st_size;
	compressed = open_raw(s);
	if (compressed < 0)
		goto fail;
	if (!compressed && s->size && lseek(s->fd, 0, SEEK_SET) == 0) {
		/* A plain tar file: no thread, the tar reader reads the file itself. */
		archive_read_free(s->raw);
		s->raw = NULL;
		if (open_tar(s, s->fd))
			goto fail;
		return 0;
	}
	if (pipe2(pipe_fds, O_CLOEXEC)) {
		pr_err("%s: making a pipe: %s", from, strerror(errno));
		goto fail;
	}
	s->pipe_read = pipe_fds[0];
	s->pipe_write = pipe_fds[1];
	/* Bigger pipe buffers mean fewer switches between the two threads. */
	fcntl(s->pipe_write, F_SETPIPE_SZ, SOURCE_BLOCK);
	if (pthread_create(&s->thread, NULL, decompress, s)) {
		pr_err("%s: starting the decompressing thread", from);
		goto fail;
	}
	s->threaded = 1;
	if (open_tar(s, s->pipe_read))
		goto fail;
	return 0;
fail:
	tar_source_close(s);
	return -1;
}

uint64_t tar_source_consumed(struct tar_source *s)
{
	if (!s->threaded)
		return s->tar ? (uint64_t)archive_filter_bytes(s->tar, -1) : 0;
	return __atomic_load_n(&s->consumed, __ATOMIC_RELAXED);
}

int tar_source_close(struct tar_source *s)
{
	int ret = 0;

	archive_read_free(s->tar);
	s->tar = NULL;
	/* Closing the read end makes a still-running decompressor stop. */
	if (s->pipe_read >= 0)
		close(s->pipe_read);
	if (s->threaded) {
		pthread_join(s->thread, NULL);
		if (s->error[0]) {
			pr_err("%s: decompressing: %s", s->name, s->error);
			ret = -1;
		}
	}
	if (s->pipe_write >= 0)
		close(s->pipe_write);
	archive_read_free(s->raw);
	if (s->fd > STDIN_FILENO)
		close(s->fd);
	/* Closing twice is harmless: nothing is left to close. */
	s->fd = s->pipe_read = s->pipe_write = -1;
	s->threaded = 0;
	s->raw = NULL;
	return ret;
}
