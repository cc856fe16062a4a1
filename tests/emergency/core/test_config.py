"""Configuration from the environment (emergency.core.config): one table of settings; a value
that cannot be right stops start-up with one line naming the variable and what it expects."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from emergency.core.config import SETTINGS, ConfigurationError, load

README = Path(__file__).resolve().parents[3] / "README.md"


@pytest.fixture
def environment(monkeypatch):
    """Start from an environment that sets no setting (only a SECRET_KEY), then set `values`."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "a-test-secret-of-at-least-32-bytes")

    def set_values(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_values


def loaded(tmp_path, **overrides) -> dict:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    load(app, overrides)
    return app.config


def refused(tmp_path, **overrides) -> str:
    with pytest.raises(ConfigurationError) as caught:
        loaded(tmp_path, **overrides)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("SMS_BATCH_SIZE", "abc", "whole number greater than 0"),
    ("EMAIL_BATCH_SIZE", "-5", "whole number greater than 0"),
    ("MAX_UPLOAD_BYTES", "0", "whole number greater than 0"),
    ("PURGE_AFTER_DAYS", "-1", "0 or more"),
    ("PROVIDER_TIMEOUT", "soon", "number greater than 0"),
    ("TWILIO_MPS", "nan", "number greater than 0"),
    ("JOBS_MODE", "nonsense", "one of rq, thread, sync"),
    ("RATELIMIT_ENABLED", "maybe", "true or false"),
    ("PUBLIC_BASE_URL", "consular.example", "URL starting with http://, https://"),
    ("REDIS_URL", "localhost:6379", "URL starting with redis://"),
    ("DATABASE_URL", "mysql://db.example/emergency", "URL starting with sqlite://, postgresql://"),
])
def test_a_bad_value_stops_start_up_naming_the_variable_and_what_it_expects(
        environment, tmp_path, name, value, expected):
    environment(**{name: value})
    message = refused(tmp_path)
    assert message.startswith(f"{name} must be ")
    assert expected in message and repr(value) in message


def test_the_error_about_a_bad_url_never_shows_its_password(environment, tmp_path):
    environment(DATABASE_URL="mysql://admin:hunter2@db.example/emergency")
    message = refused(tmp_path)
    assert "hunter2" not in message and "admin:***@db.example" in message


def test_every_setting_can_say_what_it_expects_of_its_type():
    """A check written for numbers on a text setting (or the reverse) would only fail when
    someone mistypes the variable; every combination in the table must have its message."""
    for setting in SETTINGS:
        if setting.check is not None:
            assert setting.type.name in setting.check.expected, setting.name
        else:
            assert setting.type.name == "str" or setting.type.expected, setting.name


def test_values_are_read_with_their_types(environment, tmp_path):
    environment(SMS_BATCH_SIZE=" 250 ", RATELIMIT_ENABLED="off", TWILIO_MPS="2.5", JOBS_MODE="sync",
                MAX_UPLOAD_BYTES="1024", PUBLIC_BASE_URL="https://consular.example/", TWILIO_VALIDITY_PERIOD="0")
    config = loaded(tmp_path)
    assert config["SMS_BATCH_SIZE"] == 250 and config["RATELIMIT_ENABLED"] is False
    assert config["TWILIO_MPS"] == 2.5 and config["JOBS_MODE"] == "sync"
    assert config["MAX_CONTENT_LENGTH"] == 1024  # the variable's name is not Flask's
    assert config["PUBLIC_BASE_URL"] == "https://consular.example"
    assert config["TWILIO_VALIDITY_PERIOD"] is None  # 0 leaves the validity to Twilio


def test_job_timeout_is_a_setting_of_600_seconds_by_default(environment, tmp_path):
    assert loaded(tmp_path)["JOB_TIMEOUT"] == 600
    environment(JOB_TIMEOUT="120", DELIVERY_STALE_SECONDS="300")
    assert loaded(tmp_path)["JOB_TIMEOUT"] == 120


@pytest.mark.parametrize(("stale", "timeout"), [("600", "600"), ("300", "600"), ("900", "1200")])
def test_a_claim_may_not_go_stale_while_its_job_may_still_run(environment, tmp_path, stale, timeout):
    environment(DELIVERY_STALE_SECONDS=stale, JOB_TIMEOUT=timeout)
    message = refused(tmp_path)
    assert "DELIVERY_STALE_SECONDS" in message and "JOB_TIMEOUT" in message and "greater" in message


def test_the_stale_claim_rule_also_holds_for_values_given_in_code(environment, tmp_path):
    assert "JOB_TIMEOUT" in refused(tmp_path, DELIVERY_STALE_SECONDS=5)
    assert loaded(tmp_path, DELIVERY_STALE_SECONDS=5, JOB_TIMEOUT=4)["DELIVERY_STALE_SECONDS"] == 5


def test_rq_jobs_without_redis_stop_start_up(environment, tmp_path):
    environment(JOBS_MODE="rq")
    assert "REDIS_URL" in refused(tmp_path)


def _readme_settings() -> set[str]:
    """The variables named in the first column of README.md's Configuration table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[1]))
    return names


def test_the_readme_documents_exactly_the_settings_of_the_table():
    documented = _readme_settings()
    declared = {setting.name for setting in SETTINGS}
    assert sorted(declared - documented) == [], "settings missing from README.md's Configuration table"
    assert sorted(documented - declared) == [], "README.md documents settings the table does not have"


def test_every_setting_has_a_one_line_description():
    for setting in SETTINGS:
        assert setting.description.strip() and "\n" not in setting.description, setting.name
