"""The registries' one contract: lazy entries, build() errors, availability()."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vlm_privsc.errors import ConfigError, MissingWeightsError, UnknownNameError
from vlm_privsc.registry import Registry


class Thing:
    """A backend with typed parameters and an availability check."""

    def __init__(self, size: int = 3, name: str = "x") -> None:
        self.size, self.name = size, name

    @classmethod
    def availability(cls, size: int = 3, **_: object) -> tuple[bool, str]:
        return (size < 10, "" if size < 10 else "too big for this machine")


def test_lazy_entry_imports_its_module_only_when_named():
    reg: Registry[object] = Registry("thing", {"od": "collections:OrderedDict", "gone": "no_such_module_xyz:X"})
    assert reg.names() == ["gone", "od"] and "od" in reg
    assert reg.build("od") == {}
    with pytest.raises(MissingWeightsError, match="thing 'gone' cannot be imported.*pip install"):
        reg.get("gone")
    ok, why = reg.availability("gone")
    assert not ok and "no_such_module_xyz" in why
    with pytest.raises(UnknownNameError, match="unknown thing 'nope'; valid: gone, od"):
        reg.get("nope")


def test_build_names_the_backend_and_the_parameter():
    reg: Registry[Thing] = Registry("thing")
    reg.register("t")(Thing)
    assert reg.build("t", size=4).size == 4
    with pytest.raises(ConfigError, match="thing 't': colour: unknown parameter of thing 't'; valid: size, name"):
        reg.build("t", colour="red")
    with pytest.raises(ConfigError, match="thing 't': size: .*valid integer"):
        reg.build("t", size="big")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("t")(Thing)
    assert reg.availability("t", size=20) == (False, "too big for this machine")
    assert reg.availability("t") == (True, "")


def test_importing_stages_registers_and_imports_no_backend():
    """No import side effects: the stage packages and the database loader import no backend
    module (and the loader not the guard) until a backend is named."""
    code = (
        "import sys; import vlm_privsc.db, vlm_privsc.inpaint, vlm_privsc.semantics, vlm_privsc.guard.detectors; "
        "from vlm_privsc.db import load_db; load_db(None); "
        "bad = [m for m in sys.modules if m.startswith(('vlm_privsc.inpaint.face_gan', 'vlm_privsc.inpaint.diffusion', "
        "'vlm_privsc.semantics.clip', 'vlm_privsc.guard.sam', 'vlm_privsc.guard.detectors.grounded'))]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
    code = "import sys, vlm_privsc.db; print(any(m.startswith('vlm_privsc.guard') for m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_every_project_backend_resolves():
    from vlm_privsc.backends import DETECTORS, EMBEDDERS, INPAINTERS, MATCHERS, SEGMENTERS

    for reg in (DETECTORS, SEGMENTERS, EMBEDDERS, INPAINTERS, MATCHERS):
        for name in reg.names():
            assert callable(reg.get(name)), (reg.kind, name)
