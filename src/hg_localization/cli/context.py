"""What every command receives: the output object and the configuration, read once."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer
from pydantic import ValidationError

from hg_localization.cli.output import Output
from hg_localization.config import HGLocalizationConfig
from hg_localization.errors import InvalidInputError


@dataclass
class State:
    output: Output
    _config: HGLocalizationConfig | None = field(default=None, repr=False)

    @property
    def config(self) -> HGLocalizationConfig:
        if self._config is None:
            try:
                self._config = HGLocalizationConfig()
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                )
                raise InvalidInputError(
                    f"The configuration is not valid: {problems}",
                    hint="Check the HGLOC_* environment variables and the .env file.",
                ) from None
        return self._config


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def output_for(ctx: typer.Context, *, json_mode: bool = False) -> Output:
    out = state(ctx).output
    out.json_mode = json_mode
    return out
