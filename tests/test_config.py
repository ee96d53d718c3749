"""DSN resolution and handling (pure functions: no server needed)."""

from __future__ import annotations

import pytest

from enquiries_lab import config
from enquiries_lab.config import DsnChoice, database_name, parse_dsn, redact, resolve_dsn, with_database
from enquiries_lab.errors import ConfigError

FLAG = "postgresql://flag@h1/db1"
LAB = "postgresql://lab@h2/db2"
URL = "postgresql://url@h3/db3"


@pytest.mark.parametrize(
    ("explicit", "environ", "expected"),
    [
        (FLAG, {"ENQUIRIES_LAB_DSN": LAB, "DATABASE_URL": URL}, DsnChoice(FLAG, "--dsn")),
        (None, {"ENQUIRIES_LAB_DSN": LAB, "DATABASE_URL": URL}, DsnChoice(LAB, "ENQUIRIES_LAB_DSN")),
        (None, {"DATABASE_URL": URL}, DsnChoice(URL, "DATABASE_URL")),
        (None, {}, DsnChoice(None, "embedded")),
    ],
    ids=["flag-beats-both-variables", "lab-variable-beats-database-url", "database-url-alone", "nothing-means-embedded"],
)
@pytest.mark.req("REQ-FND-2")
def test_resolution_order_is_flag_then_lab_variable_then_database_url_then_embedded(explicit, environ, expected) -> None:
    assert resolve_dsn(explicit, environ) == expected


@pytest.mark.parametrize(
    ("explicit", "environ", "expected"),
    [
        ("", {"ENQUIRIES_LAB_DSN": LAB}, DsnChoice(LAB, "ENQUIRIES_LAB_DSN")),
        (None, {"ENQUIRIES_LAB_DSN": "", "DATABASE_URL": URL}, DsnChoice(URL, "DATABASE_URL")),
        ("", {"ENQUIRIES_LAB_DSN": "", "DATABASE_URL": ""}, DsnChoice(None, "embedded")),
    ],
    ids=["empty-flag", "empty-lab-variable", "all-empty"],
)
@pytest.mark.req("REQ-FND-2")
def test_empty_strings_count_as_unset(explicit, environ, expected) -> None:
    assert resolve_dsn(explicit, environ) == expected


@pytest.mark.req("REQ-FND-2")
def test_embedded_choice_has_no_dsn() -> None:
    assert resolve_dsn(None, {}).embedded
    assert not resolve_dsn(FLAG, {}).embedded


@pytest.mark.req("REQ-FND-2")
def test_resolution_reads_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENQUIRIES_LAB_DSN", "")
    monkeypatch.setenv("DATABASE_URL", URL)
    assert resolve_dsn() == DsnChoice(URL, "DATABASE_URL")
    monkeypatch.setenv("ENQUIRIES_LAB_DSN", LAB)
    assert resolve_dsn() == DsnChoice(LAB, "ENQUIRIES_LAB_DSN")


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://alice:secret@db.example:5433/lab",
        "postgres://alice:secret@db.example/lab?sslmode=require",
        "postgresql://alice@db.example/lab?password=secret",
        "host=db.example port=5433 user=alice password=secret dbname=lab",
        "host=db.example user=alice password='secret with spaces' dbname=lab",
    ],
    ids=["uri", "uri-with-query", "uri-password-in-query", "key-value", "key-value-quoted"],
)
@pytest.mark.req("REQ-FND-3")
def test_redact_hides_password_and_keeps_the_rest(dsn: str) -> None:
    shown = redact(dsn)
    assert "secret" not in shown
    assert parse_dsn(shown) == {**parse_dsn(dsn), "password": "***"}


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://alice:secret@db.example:5433/lab?bogus=1",
        "postgresql://alice@db.example/lab?password=secret&bogus=1",
        "host=db.example password=secret port",
        "host=db.example password='secret with spaces' dbname",
    ],
    ids=["uri-bad-parameter", "uri-query-password-bad-parameter", "key-value-missing-equals", "key-value-quoted-missing-equals"],
)
@pytest.mark.req("REQ-FND-3")
def test_redact_hides_password_in_malformed_dsn(dsn: str) -> None:
    shown = redact(dsn)
    assert "secret" not in shown
    assert "db.example" in shown


@pytest.mark.req("REQ-FND-3")
def test_redact_leaves_a_dsn_without_password_equivalent() -> None:
    dsn = "postgresql://alice@db.example:5433/lab"
    assert parse_dsn(redact(dsn)) == parse_dsn(dsn)


@pytest.mark.req("REQ-FND-3")
def test_malformed_dsn_raises_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dsn("host=db.example password=secret port")
    message = str(caught.value)
    assert message.startswith("malformed DSN ")
    assert "secret" not in message
    assert "\n" not in message


@pytest.mark.req("REQ-FND-2")
def test_with_database_changes_only_the_database() -> None:
    dsn = "postgresql://alice:pw@db.example:5433/lab?sslmode=require"
    assert parse_dsn(with_database(dsn, "other")) == {**parse_dsn(dsn), "dbname": "other"}


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://alice@db.example/lab", "lab"),
        ("host=db.example dbname=lab user=alice", "lab"),
        ("host=db.example user=alice", "alice"),  # libpq defaults the database to the user
    ],
)
@pytest.mark.req("REQ-FND-2")
def test_database_name_follows_libpq_defaults(dsn: str, expected: str) -> None:
    assert database_name(dsn) == expected


@pytest.mark.req("REQ-FND-2")
def test_default_database_name() -> None:
    assert config.DEFAULT_DATABASE == "enquiries_lab"
