/* SPDX-License-Identifier: MIT */
#ifndef WSL_V1_H
#define WSL_V1_H

#include "client.h"
#include "store.h"

/* Run in a version-1 distro (its root on the host, namespaces, no VM). */
int v1_run(const struct distro_record *r, const struct run_options *o);

#endif
