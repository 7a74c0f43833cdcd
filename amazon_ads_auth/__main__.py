"""`python -m amazon_ads_auth` runs the CLI."""

from .cli import main

if __name__ == "__main__":
    main()
