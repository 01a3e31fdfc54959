"""The Python API: the seed's function names and shapes, thin over the use cases.

These functions never print and never raise for expected failures: the ``download_*`` and
``sync_*`` functions return ``(success, path_or_error_message)``, the readers return ``None``.
What they log goes to the ``hg_localization`` loggers, which the API never configures: without
a handler of the application's own, nothing reaches stderr (not even warnings).
"""

import logging

logging.getLogger("hg_localization").addHandler(logging.NullHandler())
