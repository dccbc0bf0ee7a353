# builder: see README.md
