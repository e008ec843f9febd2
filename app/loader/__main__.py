import sys

from app.cli import main

sys.exit(main(["seed", *sys.argv[1:]]))
