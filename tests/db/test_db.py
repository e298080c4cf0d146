from __future__ import annotations

from pathlib import Path

import pytest

from vlm_privsc.db import load_db
from vlm_privsc.db.loader import default_db_path
from vlm_privsc.errors import ConfigError, InputError, UnknownNameError


def test_default_db_has_required_categories_and_policies():
    db = load_db()
    for c in ("face", "license_plate", "text", "person", "screen"):
        cat = db.category(c)
        assert cat.prompts and cat.description and cat.inpaint_prompt
    assert db.category("face").identity is True
    assert db.category("license_plate").identity is False
    for p in ("faces", "plates", "text", "people", "all", "none"):
        assert p in db.policies
    assert db.policy_categories("faces") == ("face",)
    assert db.policy_categories("none") == ()
    assert set(db.policy_categories("all")) == set(db.categories)


def test_default_db_is_package_data():
    p = default_db_path()
    assert p.name == "default.yaml" and p.exists()


def test_digest_is_stable_and_content_sensitive(tmp_path: Path):
    a, b = load_db(), load_db()
    assert a.digest() == b.digest() and len(a.digest()) == 64
    f = tmp_path / "u.yaml"
    f.write_text("categories:\n  face:\n    threshold: 0.31\n")
    assert load_db(f).digest() != a.digest()
    # key order in the file does not change the digest
    f2 = tmp_path / "v.yaml"
    f2.write_text("policies:\n  faces:\n    categories: [face]\ncategories:\n  face:\n    threshold: 0.31\n")
    assert load_db(f2).digest() == load_db(f).digest()


def test_user_file_overrides_and_extends(tmp_path: Path):
    f = tmp_path / "mine.yaml"
    f.write_text(
        """
categories:
  face:
    threshold: 0.25
  tattoo:
    description: Tattoos can identify a person.
    prompts: [a tattoo]
    inpaint_prompt: plain skin
    identity: true
policies:
  tattoos:
    categories: [tattoo, face]
"""
    )
    db = load_db(f)
    assert db.category("face").threshold == 0.25
    assert db.category("face").detectors  # untouched fields kept from the default
    assert db.policy_categories("tattoos") == ("tattoo", "face")
    assert "tattoo" in db.policy_categories("all")


def test_extends_none_stands_alone(tmp_path: Path):
    f = tmp_path / "alone.yaml"
    f.write_text(
        "extends: none\ncategories:\n  logo:\n    description: d\n    prompts: [a logo]\n    inpaint_prompt: wall\n"
        "policies:\n  logos:\n    categories: [logo]\n"
    )
    db = load_db(f)
    assert list(db.categories) == ["logo"] and list(db.policies) == ["logos"]


@pytest.mark.parametrize(
    "text, needle",
    [
        ("categories:\n  face:\n    threshold: 1.5\n", "categories.face.threshold"),
        ("categories:\n  face:\n    colour: red\n", "unknown field"),
        ("categories:\n  face:\n    mask: {shape: star}\n", "categories.face.mask.shape"),
        ("policies:\n  mine:\n    categories: [face, unicorn]\n", "unknown category 'unicorn'"),
        ("categories:\n  face:\n    detectors: [{name: nosuchdet}]\n", "unknown detector 'nosuchdet'"),
        ("categories: [1, 2\n", "invalid YAML"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("extends: something\n", "extends"),
    ],
)
def test_bad_files_give_one_line_naming_file_and_field(tmp_path: Path, text: str, needle: str):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_db(f)
    msg = str(ei.value)
    assert "\n" not in msg
    assert str(f) in msg
    assert needle in msg


def test_error_names_the_line(tmp_path: Path):
    f = tmp_path / "bad.yaml"
    f.write_text("# comment\ncategories:\n  face:\n    threshold: 7\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:4: categories.face.threshold"):
        load_db(f)


def test_unknown_policy_lists_valid_ones():
    with pytest.raises(UnknownNameError, match="valid: all, faces, none"):
        load_db().policy_categories("everything")


def test_missing_file_is_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="not found"):
        load_db(tmp_path / "nope.yaml")


def test_category_ids_are_stable():
    ids = load_db().category_ids()
    assert sorted(ids.values()) == list(range(len(ids)))
    assert ids == load_db().category_ids()
