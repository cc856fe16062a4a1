"""`python -m emergency.cli`: the same command group as the `emergency` console script."""
from emergency.cli.main import main

main()
