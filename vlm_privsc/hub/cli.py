"""``vlmsc models``: list every backend, what it needs and whether it is available here.

Wire it into the main CLI with ``vlm_privsc.hub.cli.register(app)``. Importing this module
is cheap (no transformers / diffusers / open_clip).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


def _fail(message: str, code: int = 2) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"vlmsc: error: {message}", markup=False)
    return typer.Exit(code)


def list_models(
    preset: Annotated[
        Optional[str],
        typer.Option("--preset", help="Check the backends with this preset's params (name or YAML) and mark them."),
    ] = None,
    weights_dir: Annotated[
        Optional[list[Path]],
        typer.Option("--weights-dir", help="Folder(s) holding hub weights (also: VLMSC_WEIGHTS_DIR)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every backend of every stage: what it needs and whether it is available on this machine."""
    from rich.console import Console
    from rich.table import Table

    from vlm_privsc.errors import VlmscError
    from vlm_privsc.hub.catalog import catalog, preset_params
    from vlm_privsc.hub.weights import set_weights_dir

    try:
        if weights_dir:
            set_weights_dir(weights_dir)
        params: dict = {}
        jscc: str | None = ""
        if preset:
            from vlm_privsc.config import load_preset

            cfg = load_preset(preset)
            params, jscc = preset_params(cfg), cfg.jscc.model
        rows = catalog(params, jscc_model=jscc)
    except VlmscError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    if as_json:
        sys.stdout.write(json.dumps([r.to_json() for r in rows], indent=2) + "\n")
        return
    table = Table(
        title="vlmsc backends" + (f" (preset {preset}: * = used)" if preset else ""),
        caption="hub weights: --weights-dir DIR or VLMSC_WEIGHTS_DIR (DIR/<org>/<name>, DIR/<name>, DIR/<file>, "
        "or a copied HF cache), the Hugging Face cache, or a path in the preset's params; "
        "VLMSC_ALLOW_DOWNLOAD=1 allows hub downloads",
    )
    for col in ("stage", "backend", "needs", "available", "weights / why not"):
        table.add_column(col, overflow="fold")
    mark = {True: "[green]yes[/]", False: "[red]no[/]", None: "[yellow]?[/]"}
    for r in rows:
        table.add_row(r.stage, ("* " if r.used else "") + r.name, r.needs, mark[r.available], r.detail)
    Console().print(table)


def register(app: typer.Typer) -> typer.Typer:
    """Add the ``models`` command group (``vlmsc models list``) to ``app``; returns the group."""
    models_app = typer.Typer(help="Model backends and their weights.", no_args_is_help=True)
    models_app.command("list")(list_models)
    app.add_typer(models_app, name="models")
    return models_app
