# init: see README.md
