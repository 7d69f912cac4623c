"""python -m modelreg"""

from .cli import main

main()
