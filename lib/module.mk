# lib/: every lib/<part>/*.c goes into libopenwsl.a (built for the host and,
# with musl, for the guest); lib/<part>/tests/ holds its tests.  The rules
# are in the top GNUmakefile because the host and guest sides share them.

# vhdx-tool: lets the VHDX test scripts drive the library (not a test itself).
VHDX_TOOL := $(O)/tests/lib/vhdx/vhdx-tool
$(eval $(call host_program,$(VHDX_TOOL),lib/vhdx/tests/vhdx-tool.c $(HOST_LIB)))
all: $(VHDX_TOOL)

# p9-tool: serves a directory to the Linux 9P client over trans=fd for the
# 9P test scripts, and checks xattrs and locks (not a test itself).
P9_TOOL := $(O)/tests/lib/p9/p9-tool
$(eval $(call host_program,$(P9_TOOL),lib/p9/tests/p9-tool.c $(HOST_LIB)))
all: $(P9_TOOL)
