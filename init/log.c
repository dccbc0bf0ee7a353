// SPDX-License-Identifier: MIT
/* The init's messages: to the kernel log, which the console shows. */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

void pr_init(const char *fmt, ...)
{
	static int kmsg = -2;
	char line[1024];
	va_list ap;
	int len;

	if (kmsg == -2)
		kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	len = snprintf(line, sizeof(line), "<5>wsl-init: ");
	va_start(ap, fmt);
	len += vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (len >= (int)sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	if (kmsg < 0 || write(kmsg, line, len) < 0) {
		/* Before /dev is mounted: the console is stderr. */
		if (write(STDERR_FILENO, line + 3, len - 3) < 0)
			return;
	}
}

void pr_warn_line(const char *msg)
{
	pr_init("%s", msg);
}

void unblock_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
}
