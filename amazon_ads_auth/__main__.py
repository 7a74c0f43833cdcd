"""`python -m amazon_ads_auth` runs the CLI (through the same front door as the script)."""

from ._cli_fast import main

if __name__ == "__main__":
    main()
