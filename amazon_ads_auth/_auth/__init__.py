"""AdsAuth and its adapters: argument checks, the requests hooks, the httpx 401 replay, optional
httpx2 support.
"""
