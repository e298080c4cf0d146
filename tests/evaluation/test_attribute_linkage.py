"""The attribute linkage attack: nearest-neighbour linkage, its chance rate and the public ring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlm_privsc.evaluation.bench.attribute_linkage import (
    attack,
    chance_rate,
    entropy_bits,
    linkage_rate,
    public_ring,
)


def test_linkage_finds_identities_that_share_their_bins_and_shares_ties():
    ids = ["a", "a", "b", "b"]
    perfect = np.array([[0], [0], [3], [3]])
    assert linkage_rate(perfect, ids).tolist() == [1.0, 1.0, 1.0, 1.0]
    constant = np.zeros((4, 1))
    # every other photo ties: one of three shows the same identity
    assert linkage_rate(constant, ids) == pytest.approx([1 / 3] * 4)
    assert chance_rate(ids) == pytest.approx([1 / 3] * 4)
    emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    assert linkage_rate(emb / np.linalg.norm(emb, axis=1, keepdims=True), ids, metric="cosine").tolist() == [1.0] * 4


def test_attack_reports_no_lift_for_an_uninformative_attribute():
    rng = np.random.default_rng(0)
    ids = [str(i // 4) for i in range(40)]
    bins = {
        "useless": np.zeros(40, int),
        "telling": np.array([i // 4 for i in range(40)]),
        "noise": rng.integers(0, 5, 40),
    }
    rows = {r.attributes: r for r in attack(bins, ids)}
    assert rows["useless"].lift == pytest.approx(1.0) and rows["useless"].bits == 0.0
    assert rows["telling"].linkage == 1.0 and rows["telling"].lift > 5
    assert rows["useless+telling+noise"].lift > rows["noise"].lift
    assert entropy_bits(np.array([[0], [1], [0], [1]])) == pytest.approx(1.0)


def test_public_ring_lies_outside_every_private_pixel():
    region = torch.zeros(1, 1, 40, 40, dtype=torch.bool)
    region[0, 0, 10:20, 10:20] = True
    mask = region.clone()
    mask[0, 0, 20:24, 10:20] = True  # another private region touching it
    ring = public_ring(region, mask)
    assert ring.any() and not (ring & mask).any()
    assert not ring[0, 0, :5].any()  # a band about a quarter of the region's size, not the image
