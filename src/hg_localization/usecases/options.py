"""How to localize a repo revision: one object, built once at the edge and passed down unchanged.

The CLI builds it from its flags, the Python API from the seed's argument names
(:meth:`LocalizeOptions.from_seed_flags`, the one place those names are mapped); the use cases
read it and never copy its fields one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from hg_localization.progress import ProgressListener
from hg_localization.usecases.publish import PushTarget, Share

__all__ = ["DEFAULTS", "LocalizeOptions"]


@dataclass(frozen=True)
class LocalizeOptions:
    """What to fetch, from where, and where it goes next.

    * ``full`` — a model's every file rather than its card and config (a dataset is always
      localized whole, or as the files of one config).
    * ``include`` / ``exclude`` — glob patterns that select files (either makes a model's
      request a selection of files, not metadata only).
    * ``force`` — fetch again from the Hub even when the store or the bucket has the revision.
    * ``allow_hub`` — the Hub may be asked; without it only the store and the bucket are.
    * ``push`` — push the local copy to the team bucket afterwards.
    * ``make_public`` — push it and make it public (refused for a private or gated upstream
      repo, the local copy kept).
    * ``allow_private_public`` — make it public even when the upstream repo is private or gated
      (a deliberate choice; only with ``make_public``).
    """

    full: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    force: bool = False
    allow_hub: bool = True
    push: bool = True
    make_public: bool = False
    allow_private_public: bool = False

    @classmethod
    def from_seed_flags(
        cls,
        *,
        metadata_only: bool = False,
        skip_s3_upload: bool = False,
        skip_hf_fetch: bool = False,
        make_public: bool = False,
        allow_private_public: bool = False,
    ) -> LocalizeOptions:
        """What the seed API's arguments mean (``download_model_metadata``, ``download_dataset``):
        the one place their names are mapped."""
        return cls(
            full=not metadata_only,
            allow_hub=not skip_hf_fetch,
            push=not skip_s3_upload,
            make_public=make_public,
            allow_private_public=allow_private_public,
        )

    @property
    def selects_files(self) -> bool:
        """Whether a model's request is for files beyond its card and config."""
        return self.full or bool(self.include or self.exclude)

    def share_to(self, bucket: PushTarget | None, progress: ProgressListener) -> Share | None:
        """Where the localized revision is pushed: nowhere without a bucket or with ``push`` off."""
        if bucket is None or not self.push:
            return None
        return Share(
            bucket,
            make_public=self.make_public,
            allow_private_public=self.allow_private_public,
            progress=progress,
        )


#: The options of a plain request (a model's card and config, pushed when a bucket is configured).
DEFAULTS = LocalizeOptions()
