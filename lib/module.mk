# lib: see README.md
