/* SPDX-License-Identifier: MIT */
#ifndef WSLVM_UNIX_SOCKET_H
#define WSLVM_UNIX_SOCKET_H

#include <stddef.h>

/*
 * A non-blocking listening socket at path, mode 0600 from the moment it
 * exists; a stale socket there is replaced, anything else is an error.
 * reserve: bytes of sun_path to keep free beyond path (vsock appends
 * "_PORT").  Dies with a message starting "what path:" on failure.
 */
int unix_listen_private(const char *what, const char *path, size_t reserve);

#endif
