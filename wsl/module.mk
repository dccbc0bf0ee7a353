# wsl: the user's command.  Every wsl/*.c; main.c holds main().  It imports
# and exports distros through the builder's library (builder/builder.h).
$(eval $(call component,wsl,wsl,$(builder_LIB)))
