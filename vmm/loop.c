// SPDX-License-Identifier: MIT
/*
 * The event loop.  Everything that is not a vCPU exit happens here, on the
 * main thread: console input, queue notifications (ioeventfds), sockets,
 * signals.  Device work therefore needs no locking against itself, only
 * against the vCPU threads touching device registers.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"
#include "vmm.h"

struct loop_handler {
	int fd;
	loop_fn fn;
	void *opaque;
	bool dead;
	struct loop_handler *prev, *next;	/* on the live or the dead list */
};

struct event_loop {
	int epfd;
	bool quit;
	struct loop_handler *live;
	struct loop_handler *dead;	/* removed during the current batch */
};

static void handler_unlink(struct loop_handler **list, struct loop_handler *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		*list = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
}

static void handler_link(struct loop_handler **list, struct loop_handler *h)
{
	h->prev = NULL;
	h->next = *list;
	if (*list)
		(*list)->prev = h;
	*list = h;
}

struct event_loop *loop_create(void)
{
	struct event_loop *loop = xcalloc(1, sizeof(*loop));

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		die_errno("creating the event loop's epoll set");
	return loop;
}

static void loop_free_list(struct loop_handler **list)
{
	while (*list) {
		struct loop_handler *h = *list;

		*list = h->next;
		free(h);
	}
}

void loop_destroy(struct event_loop *loop)
{
	loop_free_list(&loop->dead);
	loop_free_list(&loop->live);
	close(loop->epfd);
	free(loop);
}

struct loop_handler *loop_add(struct event_loop *loop, int fd, uint32_t events,
			      loop_fn fn, void *opaque)
{
	struct loop_handler *h = xcalloc(1, sizeof(*h));
	struct epoll_event ev = { .events = events, .data.ptr = h };

	h->fd = fd;
	h->fn = fn;
	h->opaque = opaque;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		/* Regular files and /dev/null cannot be polled: always ready. */
		if (errno == EPERM) {
			free(h);
			return NULL;
		}
		die_errno("watching file descriptor %d in the event loop", fd);
	}
	handler_link(&loop->live, h);
	return h;
}

void loop_modify(struct event_loop *loop, struct loop_handler *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
		die_errno("changing the events watched on file descriptor %d", h->fd);
}

void loop_remove(struct event_loop *loop, struct loop_handler *h)
{
	if (!h || h->dead)
		return;
	/* The fd may already be closed, which removed it from the set. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	h->dead = true;
	handler_unlink(&loop->live, h);
	handler_link(&loop->dead, h);
}

void loop_quit(struct event_loop *loop)
{
	loop->quit = true;
}

void loop_run(struct event_loop *loop)
{
	struct epoll_event events[32];
	int i, n;

	while (!loop->quit) {
		n = epoll_wait(loop->epfd, events, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_errno("waiting for events");
		}
		for (i = 0; i < n && !loop->quit; i++) {
			struct loop_handler *h = events[i].data.ptr;

			if (!h->dead)
				h->fn(h->opaque, events[i].events);
		}
		loop_free_list(&loop->dead);
	}
}
