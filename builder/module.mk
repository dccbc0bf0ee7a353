# mkwslimage: every builder/*.c is part of it; main.c holds main(), and each
# subcommand file registers itself with BUILDER_COMMAND().
$(eval $(call component,builder,mkwslimage))
