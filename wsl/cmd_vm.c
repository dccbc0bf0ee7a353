// SPDX-License-Identifier: MIT
/* Commands that talk to the VM: run, list, terminate, shutdown, status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "v1.h"

int context_init(struct wsl_context *ctx)
{
	if (wsl_paths_init(&ctx->paths))
		return -1;
	return wsl_config_load(&ctx->config, &ctx->paths);
}

/* Resolve NAME ("" or NULL = the default) to its record. */
int find_distro(struct wsl_context *ctx, const char *name, struct distro_record *r)
{
	char def[STORE_NAME_MAX];
	struct store st;
	int ret;

	if (store_open(&st, &ctx->paths, false))
		return -1;
	if (!name || !*name) {
		store_get_default(&st, def, sizeof(def));
		if (!*def) {
			store_close(&st);
			pr_err("no distro is installed: import one with wsl --import NAME DIR TARBALL");
			return -1;
		}
		name = def;
	}
	ret = store_get(&st, name, r);
	store_close(&st);
	if (ret)
		pr_err("no distro named '%s' (wsl -l lists them)", name);
	return ret;
}

/* A developer's or a test's own VM: WSL_VM_SOCKET names its vsock socket. */
const char *direct_socket(void)
{
	const char *s = getenv("WSL_VM_SOCKET");

	return s && *s ? s : NULL;
}

int cmd_run(struct wsl_context *ctx, struct run_options *run)
{
	static char *env[2];
	struct distro_record r;
	struct vm_session vs = { .sessions_fd = -1 };
	struct guest_conn c;
	const char *socket = direct_socket();
	int status;

	if (!socket) {
		if (find_distro(ctx, run->distro, &r))
			return 1;
		if (r.version == 1)
			return v1_run(&r, run);
		run->distro = r.name;
		if (!run->user && r.default_user[0])
			run->user = r.default_user;
		if (vm_session_begin(&vs, &ctx->paths, &ctx->config, r.name))
			return 1;
		socket = vs.socket;
	}
	/* The terminal type is the one thing of our environment that must carry over. */
	if (getenv("TERM") && asprintf(&env[0], "TERM=%s", getenv("TERM")) > 0)
		run->env = env;
	if (guest_connect(&c, socket, PROTO_PORT)) {
		vm_session_end(&vs);
		return 1;
	}
	status = guest_run(&c, run);
	guest_close(&c);
	vm_session_end(&vs);
	return status < 0 ? 1 : status;
}

/* The running VM's view of its distros, through a callback into STATES. */
struct states {
	char names[64][STORE_NAME_MAX];
	int running[64];
	int n;
};

static void collect_state(const struct proto_distro *d, void *arg)
{
	struct states *s = arg;

	if (s->n == 64)
		return;
	snprintf(s->names[s->n], STORE_NAME_MAX, "%s", d->name);
	s->running[s->n++] = d->state == PROTO_DISTRO_RUNNING;
}

static void query_states(const char *socket, struct states *s)
{
	struct proto_buf b = { 0 };
	struct guest_conn c;
	struct proto_msg m;

	s->n = 0;
	if (!socket || guest_connect(&c, socket, PROTO_PORT))
		return;
	proto_put_empty(&b, PROTO_LIST_DISTROS, c.next_id++);
	if (!guest_request(&c, &b, &m))
		proto_get_distro_list(&m, collect_state, s);
	proto_buf_free(&b);
	guest_close(&c);
}

static int is_running(const struct states *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return s->running[i];
	return 0;
}

/* WSL_VM_SOCKET: the distros of that VM, as its init knows them. */
static int list_direct(const char *socket, int verbose)
{
	struct states states;

	query_states(socket, &states);
	if (!states.n) {
		pr_err("the VM at %s lists no distros", socket);
		return 1;
	}
	if (verbose)
		printf("  %-24s %-15s %s\n", "NAME", "STATE", "VERSION");
	for (int i = 0; i < states.n; i++)
		if (verbose)
			printf("  %-24s %-15s 2\n", states.names[i],
			       states.running[i] ? "Running" : "Stopped");
		else
			printf("%s\n", states.names[i]);
	return 0;
}

int cmd_list(struct wsl_context *ctx, int verbose, int json)
{
	char def[STORE_NAME_MAX], socket[600];
	struct distro_record *list;
	struct states states;
	struct store st;
	int n;

	if (direct_socket())
		return list_direct(direct_socket(), verbose);
	if (store_open(&st, &ctx->paths, false))
		return 1;
	list = store_list(&st, &n);
	store_get_default(&st, def, sizeof(def));
	store_close(&st);
	query_states(vm_running(&ctx->paths, socket, sizeof(socket)) ? socket : NULL, &states);
	if (json) {
		printf("[");
		for (int i = 0; i < n; i++)
			printf("%s\n  {\"name\": \"%s\", \"state\": \"%s\", \"version\": %d, "
			       "\"default\": %s}", i ? "," : "", list[i].name,
			       is_running(&states, list[i].name) ? "Running" : "Stopped",
			       list[i].version, strcmp(def, list[i].name) ? "false" : "true");
		printf("%s]\n", n ? "\n" : "");
	} else if (!n) {
		fprintf(stderr, "wsl: no distro is installed: import one with wsl --import\n");
	} else if (verbose) {
		printf("  %-24s %-15s %s\n", "NAME", "STATE", "VERSION");
		for (int i = 0; i < n; i++)
			printf("%c %-24s %-15s %d\n", strcmp(def, list[i].name) ? ' ' : '*',
			       list[i].name, is_running(&states, list[i].name) ? "Running" : "Stopped",
			       list[i].version);
	} else {
		for (int i = 0; i < n; i++)
			printf("%s%s\n", list[i].name, strcmp(def, list[i].name) ? "" : " (default)");
	}
	free(list);
	return 0;
}

int terminate_in_vm(const char *socket, const char *name)
{
	struct proto_buf b = { 0 };
	struct guest_conn c;
	struct proto_msg m;
	int ret;

	if (guest_connect(&c, socket, PROTO_PORT))
		return 1;
	proto_put_string_msg(&b, PROTO_TERMINATE_DISTRO, c.next_id++, name);
	ret = guest_request(&c, &b, &m);
	proto_buf_free(&b);
	guest_close(&c);
	if (ret)
		return 1;
	if (m.type == PROTO_ERROR) {
		guest_print_error(&m);
		return 1;
	}
	return 0;
}

int cmd_terminate(struct wsl_context *ctx, const char *name)
{
	struct distro_record r;
	char socket[600];

	if (direct_socket())
		return terminate_in_vm(direct_socket(), name);
	if (find_distro(ctx, name, &r))
		return 1;
	if (!vm_running(&ctx->paths, socket, sizeof(socket)))
		return 0; /* not running: nothing to stop */
	return terminate_in_vm(socket, name);
}

int cmd_shutdown(struct wsl_context *ctx)
{
	struct proto_buf b = { 0 };
	struct guest_conn c;
	struct proto_msg m;
	const char *sock = direct_socket();

	if (!sock)
		return vm_shutdown(&ctx->paths) ? 1 : 0;
	if (guest_connect(&c, sock, PROTO_PORT))
		return 1;
	proto_put_empty(&b, PROTO_SHUTDOWN, c.next_id++);
	guest_request(&c, &b, &m);
	proto_buf_free(&b);
	guest_close(&c);
	return 0;
}

int cmd_status(struct wsl_context *ctx)
{
	char def[STORE_NAME_MAX];
	struct store st;

	if (store_open(&st, &ctx->paths, false))
		return 1;
	store_get_default(&st, def, sizeof(def));
	store_close(&st);
	printf("Default distribution: %s\n", *def ? def : "(none)");
	printf("Utility VM: %s\n", vm_running(&ctx->paths, NULL, 0) ? "running" : "stopped");
	printf("Kernel: %s%s\n", ctx->config.kernel,
	       access(ctx->config.kernel, R_OK) ? " (missing)" : "");
	printf("Initramfs: %s%s\n", ctx->config.initramfs,
	       access(ctx->config.initramfs, R_OK) ? " (missing)" : "");
	printf("Memory: %llu MiB, processors: %u, idle timeout: %u ms\n",
	       (unsigned long long)(ctx->config.memory >> 20), ctx->config.processors,
	       ctx->config.vm_idle_timeout_ms);
	printf("Configuration: %s%s\n", ctx->paths.config,
	       access(ctx->paths.config, R_OK) ? " (absent: defaults)" : "");
	printf("Distro store: %s\n", ctx->paths.data);
	printf("KVM: %s\n", access("/dev/kvm", R_OK | W_OK) ? "not usable (/dev/kvm)" : "available");
	return 0;
}

int cmd_version(void)
{
	printf("wsl version: %s\nprotocol version: %d\n", WSL_VERSION, PROTO_VERSION);
	return 0;
}
