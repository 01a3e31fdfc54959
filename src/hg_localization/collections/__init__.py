"""Collections: named groups of models and datasets, kept in step and carried across an air gap.

::

    hg-localization.yaml      the manifest: collections, and the entries of each (manifest.py)
    hg-localization.lock      each entry's commit and every file's sha256 (lock.py)

- :mod:`.manifest` parses and checks the manifest, naming the line and field of a mistake.
- :mod:`.selection` says which files an entry selects (the same rules as a download).
- :mod:`.sync` localizes every entry through the download use cases, N at a time;
  :mod:`.plan` says what a sync would fetch, fetching nothing (``--dry-run``).
- :mod:`.lock` pins every entry's commit and files; ``sync --locked`` reproduces them.
- :mod:`.bundle` writes and reads offline bundles: one tar with the revisions, the lock and a
  manifest of every file's size and sha256, optionally signed.
"""
