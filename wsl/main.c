// SPDX-License-Identifier: MIT
/*
 * wsl: the user's command, spelled like wsl.exe.  Runs a command (or the
 * login shell) in a distro inside the user's utility VM, started on demand;
 * manages the distro store; stops the VM.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../builder/builder.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: wsl [-d NAME] [-u USER] [--cd DIR] [-- COMMAND [ARGS...]]\n"
		"       wsl COMMAND-OPTION ...\n"
		"\n"
		"Runs COMMAND (default: the user's login shell) in distro NAME (default:\n"
		"the default distro) inside the user's utility VM, which starts on demand\n"
		"and stops after vmIdleTimeout with nothing running.  The exit status is\n"
		"the command's (128 + N when killed by signal N).  A terminal on stdin\n"
		"gives the command a pty; otherwise it gets pipes.\n"
		"\n"
		"  -d, --distribution NAME      the distro to run in\n"
		"  -u, --user USER              run as USER (default: the distro's default user)\n"
		"      --cd DIR                 start in DIR (default: the user's home)\n"
		"\n"
		"Distros:\n"
		"      --import NAME DIR TARBALL [--version 1|2]\n"
		"                               make a distro from a tarball ('-' = stdin);\n"
		"                               its disk (or root, version 1) goes in DIR\n"
		"      --install --from-file PKG [--name NAME]\n"
		"                               sideload a distro package: a tarball with\n"
		"                               /etc/wsl-distribution.conf ([oobe] defaultName,\n"
		"                               defaultUid)\n"
		"      --import-in-place NAME DISK.vhdx\n"
		"                               register an existing ext4 VHDX as is\n"
		"      --export NAME FILE [--format tar|tar.gz|tar.xz|vhd]\n"
		"      --unregister NAME        forget NAME and delete its disk\n"
		"      --set-version NAME 1|2   convert: 1 = a host directory run in namespaces\n"
		"                               on this kernel, 2 = a VHDX in the VM\n"
		"  -l, --list [-v] [--json]     list distros (-v: state and version)\n"
		"  -s, --set-default NAME       make NAME the default distro\n"
		"  -t, --terminate NAME         stop every process of NAME\n"
		"      --mount NAME DIR         show distro NAME's files at DIR (a 9p mount;\n"
		"                               needs root; lasts until --unmount, and keeps\n"
		"                               the VM running)\n"
		"      --unmount DIR            undo --mount (detached if still in use)\n"
		"      --shutdown               stop every distro and the VM\n"
		"      --status                 the default distro, the VM, the config\n"
		"      --version                versions of wsl and its protocol\n"
		"  -h, --help                   show this help\n"
		"\n"
		"Configuration: $XDG_CONFIG_HOME/wsl/config ([wsl2] memory, processors,\n"
		"kernel, initramfs, kernelCommandLine, vmIdleTimeout, ...).\n");
}

enum {
	OPT_CD = 256, OPT_IMPORT, OPT_IMPORT_IN_PLACE, OPT_EXPORT, OPT_UNREGISTER, OPT_SHUTDOWN,
	OPT_STATUS, OPT_VERSION, OPT_FORMAT, OPT_JSON, OPT_INSTALL, OPT_FROM_FILE, OPT_NAME,
	OPT_SET_VERSION, OPT_MOUNT, OPT_UNMOUNT,
};

/*
 * Running a command, options end at its first word ("+"): wsl -d x ls -l.
 * A management command takes options anywhere: wsl --export x f --format vhd.
 */
static const char *optstring(int argc, char **argv)
{
	static const char *const commands[] = {
		"--import", "--import-in-place", "--export", "--unregister", "--list", "-l",
		"--set-default", "-s", "--terminate", "-t", "--shutdown", "--status", "--install",
		"--set-version", "--mount", "--unmount",
	};

	for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i]))
			return "d:u:lvs:t:h";
	return "+d:u:lvs:t:h";
}

int main(int argc, char **argv)
{
	static struct option options[] = {
		{ "distribution", required_argument, NULL, 'd' },
		{ "user", required_argument, NULL, 'u' },
		{ "cd", required_argument, NULL, OPT_CD },
		{ "import", no_argument, NULL, OPT_IMPORT },
		{ "import-in-place", no_argument, NULL, OPT_IMPORT_IN_PLACE },
		{ "export", no_argument, NULL, OPT_EXPORT },
		{ "unregister", required_argument, NULL, OPT_UNREGISTER },
		{ "list", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "set-default", required_argument, NULL, 's' },
		{ "terminate", required_argument, NULL, 't' },
		{ "shutdown", no_argument, NULL, OPT_SHUTDOWN },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "version", optional_argument, NULL, OPT_VERSION },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "install", no_argument, NULL, OPT_INSTALL },
		{ "set-version", no_argument, NULL, OPT_SET_VERSION },
		{ "mount", no_argument, NULL, OPT_MOUNT },
		{ "unmount", no_argument, NULL, OPT_UNMOUNT },
		{ "from-file", required_argument, NULL, OPT_FROM_FILE },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wsl_context ctx = { 0 };
	struct run_options run = { .use_pty = -1 };
	const char *name_arg = NULL, *format = NULL, *version_arg = NULL, *from_file = NULL;
	const char *install_name = NULL;
	int action = 0, opt, verbose = 0, json = 0;

	builder_prog = "wsl";
	/* With --import, "--version 2" is the distro's; alone, it asks for ours. */
	for (struct option *o = options; o->name; o++)
		if (!strcmp(o->name, "version"))
			o->has_arg = argc > 1 && !strcmp(argv[1], "--import") ? required_argument :
										optional_argument;

	while ((opt = getopt_long(argc, argv, optstring(argc, argv), options, NULL)) != -1) {
		switch (opt) {
		case 'd': run.distro = optarg; break;
		case 'u': run.user = optarg; break;
		case OPT_CD: run.cwd = optarg; break;
		case 'v': verbose = 1; break;
		case OPT_JSON: json = 1; break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_FROM_FILE: from_file = optarg; break;
		case OPT_NAME: install_name = optarg; break;
		case OPT_VERSION:
			/* --version alone shows ours; --version N goes with --import. */
			if (optarg) {
				version_arg = optarg;
				break;
			}
			action = action ? action : OPT_VERSION;
			break;
		case OPT_UNREGISTER: case 's': case 't':
			name_arg = optarg;
			/* fallthrough */
		case OPT_IMPORT: case OPT_IMPORT_IN_PLACE: case OPT_EXPORT: case 'l': case OPT_INSTALL:
		case OPT_SET_VERSION: case OPT_MOUNT: case OPT_UNMOUNT:
		case OPT_SHUTDOWN: case OPT_STATUS:
			if (action && action != OPT_VERSION) {
				fprintf(stderr, "wsl: one command at a time (try --help)\n");
				return 2;
			}
			action = opt;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (context_init(&ctx))
		return 1;
	switch (action) {
	case OPT_IMPORT:
		if (argc - optind != 3)
			break;
		return cmd_import(&ctx, argv[optind], argv[optind + 1], argv[optind + 2],
				  version_arg ? atoi(version_arg) : 2);
	case OPT_IMPORT_IN_PLACE:
		if (argc - optind != 2)
			break;
		return cmd_import_in_place(&ctx, argv[optind], argv[optind + 1]);
	case OPT_EXPORT:
		if (argc - optind != 2)
			break;
		return cmd_export(&ctx, argv[optind], argv[optind + 1], format);
	case OPT_UNREGISTER:
		return cmd_unregister(&ctx, name_arg);
	case OPT_SET_VERSION:
		if (argc - optind != 2)
			break;
		return cmd_set_version(&ctx, argv[optind], atoi(argv[optind + 1]));
	case OPT_INSTALL:
		if (!from_file || argc != optind) {
			fprintf(stderr, "wsl: --install needs --from-file PKG (online installs "
					"are not possible here)\n");
			return 2;
		}
		return cmd_install(&ctx, from_file, install_name);
	case OPT_MOUNT:
		if (argc - optind != 2)
			break;
		return cmd_mount(&ctx, argv[optind], argv[optind + 1]);
	case OPT_UNMOUNT:
		if (argc - optind != 1)
			break;
		return cmd_unmount(argv[optind]);
	case 'l':
		return cmd_list(&ctx, verbose, json);
	case 's':
		return cmd_set_default(&ctx, name_arg);
	case 't':
		return cmd_terminate(&ctx, name_arg);
	case OPT_SHUTDOWN:
		return cmd_shutdown(&ctx);
	case OPT_STATUS:
		return cmd_status(&ctx);
	case OPT_VERSION:
		return cmd_version();
	case 0:
		run.argc = argc - optind;
		run.argv = argv + optind;
		return cmd_run(&ctx, &run);
	}
	fprintf(stderr, "wsl: wrong number of arguments (try --help)\n");
	return 2;
}
