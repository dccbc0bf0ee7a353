# bench: measurements side by side with a peer, as ratios (never asserted).
#   make bench    runs every bench/*.sh with the built programs
.PHONY: bench
bench: all
	@set -e; for b in $(wildcard bench/*.sh); do echo "== $$b"; O=$(O) $$b; done
