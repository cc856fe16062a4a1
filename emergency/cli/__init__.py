"""The `emergency` command group's commands, one module per concern (`operations`,
`registry`, `partners`, `users`, `demo`); the console script (`main.main`) holds them
itself, and `init_app` also adds them to the app's CLI (`flask --app emergency ...` and
`app.test_cli_runner()`).

Commands that change data print what they did; bad input exits non-zero with one line
saying what was wrong (`errors`), and changes nothing.
"""
from __future__ import annotations

from flask import Flask

from emergency.cli import demo, operations, partners, registry, users

COMMANDS = tuple(command for module in (operations, registry, partners, users, demo) for command in module.COMMANDS)


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
