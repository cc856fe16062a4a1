"""Build hook: ship the repository's top-level `templates/` inside the package.

The templates live at the top of the repository (the layout is part of the project's
contract), but an installed wheel has no repository around it, so the build copies them to
`emergency/templates/`, where `create_app` looks first. Editable installs skip the copy and
use the checkout's `templates/` directly, so template edits show up without reinstalling.
Everything else about the build is declared in pyproject.toml.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATES = Path(__file__).resolve().parent / "templates"


class BuildPyWithTemplates(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            self.copy_tree(str(TEMPLATES), str(Path(self.build_lib, "emergency", "templates")))


setup(cmdclass={"build_py": BuildPyWithTemplates})
