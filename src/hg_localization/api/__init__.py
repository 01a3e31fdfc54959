"""The Python API: the seed's function names and shapes, thin over the use cases.

These functions never print and never raise for expected failures: the ``download_*``
functions return ``(success, path_or_error_message)``, the readers return ``None``.
"""
