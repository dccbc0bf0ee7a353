# vmm: see README.md
