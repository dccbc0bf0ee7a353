/* SPDX-License-Identifier: MIT */
/* The event loop: one epoll set, one callback per file descriptor. */
#ifndef WSLVM_LOOP_H
#define WSLVM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*loop_fn)(void *opaque, uint32_t events);

struct loop_handler;
struct event_loop;

struct event_loop *loop_create(void);
/* Frees the loop and every handler still in it. */
void loop_destroy(struct event_loop *loop);

/*
 * Watches fd for events (EPOLLIN, EPOLLOUT...) and calls fn when they come.
 * Returns NULL for what epoll cannot watch (regular files, /dev/null).
 */
struct loop_handler *loop_add(struct event_loop *loop, int fd, uint32_t events,
			      loop_fn fn, void *opaque);
void loop_modify(struct event_loop *loop, struct loop_handler *h, uint32_t events);

/* Stops watching; the handler is freed once the current batch is done. */
void loop_remove(struct event_loop *loop, struct loop_handler *h);

/* Dispatches events until loop_quit(). */
void loop_run(struct event_loop *loop);
void loop_quit(struct event_loop *loop);

#endif
