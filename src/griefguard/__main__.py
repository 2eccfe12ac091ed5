"""`python -m griefguard` works like the `griefguard` command."""

from griefguard.cli import main

main()
