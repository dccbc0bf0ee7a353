// SPDX-License-Identifier: MIT
/*
 * Error and progress messages.  Every message starts with "wslvm: " and
 * says what was being done, to what, and why it failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

static void vreport(const char *fmt, va_list ap, int err)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err)
		fprintf(stderr, "wslvm: %s: %s\n", msg, strerror(err));
	else
		fprintf(stderr, "wslvm: %s\n", msg);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, 0);
	va_end(ap);
	exit(EXIT_VMM_ERROR);
}

void die_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, err);
	va_end(ap);
	exit(EXIT_VMM_ERROR);
}

void pr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, 0);
	va_end(ap);
}

void pr_warn_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, err);
	va_end(ap);
}

void pr_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, 0);
	va_end(ap);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		die("out of memory allocating %zu bytes", n * size);
	return p;
}

/*
 * Every thread of ours gets a 1 MiB stack, not glibc's 8 MiB: with
 * transparent huge pages on, the few KiB an 8 MiB stack touches come as a
 * 2 MiB page, a whole huge page of RSS per thread.  A mapping this small
 * holds no aligned huge page, and 1 MiB is far more than any of them uses.
 */
#define THREAD_STACK_SIZE (1 << 20)

void xthread_create(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what)
{
	pthread_attr_t attr;
	int err;

	pthread_attr_init(&attr);
	err = pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	if (!err)
		err = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (err) {
		errno = err;
		die_errno("starting %s", what);
	}
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory copying a %zu-byte string", strlen(s));
	return p;
}
