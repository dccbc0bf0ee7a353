// SPDX-License-Identifier: MIT
/*
 * wsl: the user's command.  Spelled like wsl.exe: run a command (or the
 * login shell) in a distro, list distros, terminate one, shut the VM down.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

#define WSL_VERSION "0.1.0"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: wsl [-d NAME] [-u USER] [--cd DIR] [-- COMMAND [ARGS...]]\n"
		"       wsl -l [-v] | --terminate NAME | --shutdown | --version\n"
		"\n"
		"Runs COMMAND (default: the user's login shell) in distro NAME (default:\n"
		"the default distro), on a terminal when stdin is one, else on pipes.\n"
		"The exit status is the command's (128 + N when killed by signal N).\n"
		"\n"
		"  -d, --distribution NAME  the distro to run in\n"
		"  -u, --user USER          run as USER (default: the distro's default user)\n"
		"      --cd DIR             start in DIR (default: the user's home)\n"
		"  -l, --list               list the distros of the running VM\n"
		"  -v, --verbose            with --list: show state too\n"
		"  -t, --terminate NAME     stop every process of NAME and unmount it\n"
		"      --shutdown           stop every distro and the VM\n"
		"      --vm-socket PATH     the VM's vsock socket (default: $WSL_VM_SOCKET)\n"
		"      --version            show the version\n"
		"  -h, --help               show this help\n");
}

struct list_state {
	int verbose;
};

static void print_distro(const struct proto_distro *d, void *arg)
{
	const struct list_state *s = arg;

	if (s->verbose)
		printf("  %-24s %s\n", d->name,
		       d->state == PROTO_DISTRO_RUNNING ? "Running" : "Stopped");
	else
		printf("%s\n", d->name);
}

static int do_list(struct guest_conn *c, int verbose)
{
	struct list_state s = { verbose };
	struct proto_buf b = { 0 };
	struct proto_msg m;
	int ret;

	proto_put_empty(&b, PROTO_LIST_DISTROS, c->next_id++);
	ret = guest_request(c, &b, &m);
	proto_buf_free(&b);
	if (ret)
		return 1;
	if (verbose)
		printf("  %-24s %s\n", "NAME", "STATE");
	if (proto_get_distro_list(&m, print_distro, &s)) {
		fprintf(stderr, "wsl: the guest sent a malformed distro list\n");
		return 1;
	}
	return 0;
}

/* TERMINATE_DISTRO or SHUTDOWN, answered OK or ERROR. */
static int do_simple(struct guest_conn *c, uint32_t type, const char *name)
{
	struct proto_buf b = { 0 };
	struct proto_msg m;
	int ret;

	if (name)
		proto_put_string_msg(&b, type, c->next_id++, name);
	else
		proto_put_empty(&b, type, c->next_id++);
	ret = guest_request(c, &b, &m);
	proto_buf_free(&b);
	if (ret)
		return 1;
	if (m.type == PROTO_ERROR) {
		guest_print_error(&m);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_CD = 256, OPT_SHUTDOWN, OPT_VM_SOCKET, OPT_VERSION };
	static const struct option options[] = {
		{ "distribution", required_argument, NULL, 'd' },
		{ "user", required_argument, NULL, 'u' },
		{ "cd", required_argument, NULL, OPT_CD },
		{ "list", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "terminate", required_argument, NULL, 't' },
		{ "shutdown", no_argument, NULL, OPT_SHUTDOWN },
		{ "vm-socket", required_argument, NULL, OPT_VM_SOCKET },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_options run = { .use_pty = -1, .env = NULL };
	const char *socket_path = getenv("WSL_VM_SOCKET"), *terminate = NULL;
	int list = 0, verbose = 0, shutdown = 0, opt, status;
	struct guest_conn c;

	/* "+": options end at the first word of the command. */
	while ((opt = getopt_long(argc, argv, "+d:u:lvt:h", options, NULL)) != -1) {
		switch (opt) {
		case 'd': run.distro = optarg; break;
		case 'u': run.user = optarg; break;
		case OPT_CD: run.cwd = optarg; break;
		case 'l': list = 1; break;
		case 'v': verbose = 1; break;
		case 't': terminate = optarg; break;
		case OPT_SHUTDOWN: shutdown = 1; break;
		case OPT_VM_SOCKET: socket_path = optarg; break;
		case OPT_VERSION: printf("wsl %s (protocol %d)\n", WSL_VERSION, PROTO_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!socket_path || !*socket_path) {
		fprintf(stderr, "wsl: no VM to talk to: pass --vm-socket or set WSL_VM_SOCKET\n");
		return 1;
	}
	if (guest_connect(&c, socket_path, PROTO_PORT))
		return 1;
	if (list)
		status = do_list(&c, verbose);
	else if (terminate)
		status = do_simple(&c, PROTO_TERMINATE_DISTRO, terminate);
	else if (shutdown)
		status = do_simple(&c, PROTO_SHUTDOWN, NULL);
	else {
		static char *term_env[2];

		/* The terminal type is the one thing of our environment that must carry over. */
		if (getenv("TERM") && asprintf(&term_env[0], "TERM=%s", getenv("TERM")) > 0)
			run.env = term_env;
		run.argc = argc - optind;
		run.argv = argv + optind;
		status = guest_run(&c, &run);
		if (status < 0)
			status = 1;
	}
	guest_close(&c);
	return status;
}
