"""Package discovery: the library plus the user-editable YAML folders at the repo root.

``privacy_db/`` and ``pipelines/`` live at the top of the repository, where users edit
them, and are mapped into the package as ``vlm_privsc.privacy_db`` and
``vlm_privsc.pipelines`` so that an installed wheel finds them as package data.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["vlm_privsc", "vlm_privsc.*"]) + ["vlm_privsc.privacy_db", "vlm_privsc.pipelines"],
    package_dir={"vlm_privsc.privacy_db": "privacy_db", "vlm_privsc.pipelines": "pipelines"},
)
