"""The `emergency` command group's commands, one module per concern (`operations`,
`registry`, `partners`, `users`, `demo`); `init_app` adds them to the app's CLI, and the
console script itself is `main.main`.

Commands that change data print what they did; bad input exits non-zero with a message
saying what was wrong, and changes nothing.
"""
from __future__ import annotations

from flask import Flask

from emergency.cli import demo, operations, partners, registry, users


def init_app(app: Flask) -> None:
    for module in (operations, registry, partners, users, demo):
        for command in module.COMMANDS:
            app.cli.add_command(command)
