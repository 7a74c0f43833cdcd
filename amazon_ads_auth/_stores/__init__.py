"""Token stores: the store protocols, the in-memory store and every store that keeps grants
somewhere (files, keyring, Redis, your own callbacks), and `open_store(url)`.
"""
