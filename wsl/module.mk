# wsl: see README.md
