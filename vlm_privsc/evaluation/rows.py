"""The rows of ``vlmsc eval``: one :class:`EvalRow` per (photo, policy, scheme, Bob SNR, Eve SNR),
appended to ``rows.csv`` as photos finish, so an interrupted run resumes where it stopped.

An :class:`EvalRow` is built from a run's :class:`~vlm_privsc.measure.Metrics`
(:meth:`EvalRow.from_run`); the CSV's columns are its fields, in order. Rows read back
from the file are string-keyed (``csv.DictReader``), as the summaries consume them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlm_privsc.db import BASELINE_POLICY
from vlm_privsc.io.atomic import atomic_write_text

if TYPE_CHECKING:
    from vlm_privsc.results import RunResult


@dataclass(frozen=True)
class EvalGrid:
    """The configurations to evaluate (the cartesian product)."""

    policies: tuple[str, ...] = (BASELINE_POLICY, "faces")
    schemes: tuple[str, ...] = ("none",)
    snrs: tuple[float, ...] = (10.0,)
    eve_snrs: tuple[float, ...] = (10.0,)
    channel: str = "awgn"
    seed: int = 0

    def cells(self) -> list[tuple[str, str, float, float]]:
        return [(p, s, b, e) for p in self.policies for s in self.schemes for b in self.snrs for e in self.eve_snrs]


@dataclass(frozen=True)
class EvalRow:
    """One evaluated cell. ``None`` is written as an empty cell (not measured / not defined)."""

    image: str
    identity: str
    policy: str
    scheme: str
    channel: str
    bob_snr_db: float
    eve_snr_db: float
    seed: int
    n_faces: int
    private_fraction: float
    guard_face_coverage: float | None
    """Share of the original's detected faces that the guard covered (:mod:`vlm_privsc.measure.coverage`)."""
    n_labels: int | None
    labels_covered: int | None
    eve_similarity: float | None
    eve_match: int | None
    eve_reid_top1: int | None
    eve_psnr_db: float
    eve_ssim: float
    bob_similarity: float | None
    bob_match: int | None
    bob_reid_top1: int | None
    bob_psnr_db: float
    bob_ssim: float
    bob_psnr_nonprivate_db: float
    bob_psnr_nonprivate_none_db: float | None
    """Bob's PSNR on the same public pixels without the guard (the guard's cost to him)."""
    bob_category_ok: float | None
    eve_category_ok: float | None
    eve_category_from_shape_ok: float | None
    seconds: float

    @classmethod
    def from_run(
        cls,
        r: RunResult,
        *,
        identity: str,
        channel: str,
        n_faces: int,
        guard_face_coverage: float | None,
        labels: list[bool] | None,
        reid: tuple[int | None, int | None],
        bob_psnr_nonprivate_none_db: float | None,
        seconds: float,
    ) -> EvalRow:
        """The row of run ``r``; ``reid``: (Eve's, Bob's) top-1 re-identification."""
        m, tx = r.metrics, r.transmission

        def match(v: bool | None) -> int | None:
            return None if v is None else int(v)

        return cls(
            image=tx.source,
            identity=identity,
            policy=tx.guard.policy,
            scheme=tx.scheme,
            channel=channel,
            bob_snr_db=r.bob.snr_db,
            eve_snr_db=r.eve.snr_db,
            seed=tx.seed,
            n_faces=n_faces,
            private_fraction=round(float(tx.mask.float().mean()), 5),
            guard_face_coverage=None if guard_face_coverage is None else round(guard_face_coverage, 4),
            n_labels=None if labels is None else len(labels),
            labels_covered=None if labels is None else sum(labels),
            eve_similarity=_round(m.identity_similarity_eavesdropper, 5),
            eve_match=match(m.identity_leak),
            eve_reid_top1=reid[0],
            eve_psnr_db=round(m.psnr_eavesdropper, 4),
            eve_ssim=round(m.ssim_eavesdropper, 5),
            bob_similarity=_round(m.identity_similarity_received, 5),
            bob_match=match(m.identity_leak_received),
            bob_reid_top1=reid[1],
            bob_psnr_db=round(m.psnr_received, 4),
            bob_ssim=round(m.ssim_received, 5),
            bob_psnr_nonprivate_db=round(m.psnr_received_nonprivate, 4),
            bob_psnr_nonprivate_none_db=_round(bob_psnr_nonprivate_none_db, 4),
            bob_category_ok=m.bob_category_ok,
            eve_category_ok=m.eve_category_ok,
            eve_category_from_shape_ok=m.eve_category_from_shape_ok,
            seconds=round(seconds, 3),
        )

    def to_csv(self) -> dict[str, Any]:
        """The CSV cells (``None`` -> ``""``)."""
        return {f.name: "" if getattr(self, f.name) is None else getattr(self, f.name) for f in fields(self)}


ROW_FIELDS = [f.name for f in fields(EvalRow)]
"""The columns of ``rows.csv``."""


def _round(v: float | None, nd: int) -> float | None:
    return None if v is None else round(v, nd)


def cell_key(image: str, policy: str, scheme: str, channel: str, bob: float, eve: float, seed: int) -> str:
    return f"{image}|{policy}|{scheme}|{channel}|{float(bob):g}|{float(eve):g}|{seed}"


def row_key(row: dict[str, Any]) -> str:
    return cell_key(
        row["image"],
        row["policy"],
        row["scheme"],
        row["channel"],
        float(row["bob_snr_db"]),
        float(row["eve_snr_db"]),
        int(row["seed"]),
    )


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows already written (a torn last line from an interrupted run is ignored)."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("seconds") not in (None, "")]
    return rows


def drop_torn_line(path: Path) -> None:
    """Cut a last line that an interrupted run left without its newline, so that the
    rows appended next start on a line of their own."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as f:
        data = f.read()
        if data.endswith(b"\n"):
            return
        f.truncate(data.rfind(b"\n") + 1)


def upgrade_header(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite ``rows.csv`` with the current columns if an older version wrote it (resume
    across versions: new columns stay empty in old rows)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open(newline="") as f:
        header = next(csv.reader(f), [])
    if header == ROW_FIELDS:
        return
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=ROW_FIELDS, extrasaction="ignore")
    w.writeheader()
    w.writerows({k: r.get(k, "") for k in ROW_FIELDS} for r in rows)
    atomic_write_text(path, buf.getvalue())
