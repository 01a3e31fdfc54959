"""Weight repos: a Hub model repo of weight files, downloaded into a plain folder, and uploaded.

A weights folder is where ``download-weights`` puts every file of one repo at one revision, each
verified, for a program that reads weights from disk (not from the local store). It holds one
repo; ``verify-weights`` proves, without the network, that it is complete. It is
``models/<repo name>`` by default::

    <target>/
      <every file of the repo>          downloaded to <file>.incomplete, verified, then renamed
      checksums.txt                     the repo's own, when it has one; put in place last
      .hg_localization_weights.json     what was proven: repo, revision, commit, each file's sums
      .hg_localization_weights.lock     held while a download runs

The modules:

- :mod:`.download`: ``download-weights``, the folder's lock and record around :mod:`.fetch`,
  which keeps or downloads each file;
- :mod:`.check`: ``verify-weights``, offline; :mod:`.state`: the record (``.json`` above);
- :mod:`.checksums`: ``checksums.txt`` (``sha256sum`` format), parsed and verified;
- :mod:`.upload`: ``upload-weights``, a folder to a repo in one commit, with :mod:`.card`, the
  model card it adds when the folder has none.
"""
