"""Offline bundles: collections carried across an air gap in one verified, optionally signed tar.

- :mod:`.format`: what is in a bundle, and the checks its manifest passes when read back.
- :mod:`.export`: the store's revisions into a bundle, streamed (``bundle export``).
- :mod:`.importing` and :mod:`.unpack`: a bundle into the store, verified whole first (``bundle import``).
- :mod:`.signing`: ed25519 signatures of the bundle's manifest (the optional ``cryptography``).
"""
