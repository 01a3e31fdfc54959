"""What every command receives: the output object and the configuration, read once."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

from hg_localization.cli.output import Output
from hg_localization.config import HGLocalizationConfig, load_config


@dataclass
class State:
    output: Output
    _config: HGLocalizationConfig | None = field(default=None, repr=False)

    @property
    def config(self) -> HGLocalizationConfig:
        if self._config is None:
            self._config = load_config()
        return self._config


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def output_for(ctx: typer.Context, *, json_mode: bool = False) -> Output:
    out = state(ctx).output
    out.json_mode = json_mode
    return out
