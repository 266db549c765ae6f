"""The web: safe image downloads (download.py) and image search providers (providers.py)."""
