"""create_app finds the templates both in an installed wheel and in a checkout."""
from __future__ import annotations

from emergency import template_folder


def test_an_installed_package_uses_the_templates_shipped_inside_it(tmp_path):
    package = tmp_path / "site-packages" / "emergency"
    (package / "templates").mkdir(parents=True)
    (tmp_path / "site-packages" / "templates").mkdir()  # someone else's top-level folder

    assert template_folder(package) == package / "templates"


def test_a_checkout_uses_the_top_level_templates_folder(tmp_path):
    package = tmp_path / "checkout" / "emergency"
    package.mkdir(parents=True)

    assert template_folder(package) == tmp_path / "checkout" / "templates"
