"""Datasets: their configs and files (:mod:`.configs`, :mod:`.files`), localizing them
(:mod:`.localizing`), their cards (:mod:`.cards`), and loading/saving them with the optional
``datasets`` library (:mod:`.loading`, :mod:`.saving`; its one boundary is :mod:`.library`).

Inside this package ``import datasets`` still means the third-party library (absolute imports).
"""
