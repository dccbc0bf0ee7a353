# wsl: the user's command.  Every wsl/*.c; main.c holds main().
$(eval $(call component,wsl,wsl))
