// SPDX-License-Identifier: MIT
/*
 * mkwslimage: builds what the product runs: the kernel, the initramfs, and
 * each distro's disk (and turns a disk back into a tarball).
 */
#include <stdio.h>
#include <string.h>

#include "mkwslimage.h"

/* Weak: with no command linked in, the section and its bounds do not exist. */
extern const struct builder_command __start_builder_commands[] __attribute__((weak));
extern const struct builder_command __stop_builder_commands[] __attribute__((weak));

static void usage(FILE *out)
{
	const struct builder_command *c;

	fprintf(out, "Usage: mkwslimage COMMAND [OPTIONS...]\n\n"
		     "Builds the images openwsl runs.  Commands:\n");
	for (c = __start_builder_commands; c < __stop_builder_commands; c++)
		fprintf(out, "  %-12s %s\n", c->name, c->summary);
	fprintf(out, "\n'mkwslimage COMMAND --help' describes each.\n");
}

int main(int argc, char **argv)
{
	static char prog[64];
	const struct builder_command *c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (c = __start_builder_commands; c < __stop_builder_commands; c++) {
		if (strcmp(c->name, argv[1]))
			continue;
		snprintf(prog, sizeof(prog), "mkwslimage %s", c->name);
		builder_prog = prog;
		return c->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "mkwslimage: unknown command '%s' (try --help)\n", argv[1]);
	return 2;
}
