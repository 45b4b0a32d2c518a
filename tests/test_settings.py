"""Settings: the production profile refuses every public development secret, by name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from base.settings import DEVELOPMENT_SECRETS, Settings

SECRET_SETTINGS = {"jwt_secret": "INNSIGHT_JWT_SECRET", "pseudonym_key": "INNSIGHT_PSEUDONYM_KEY",
                   "vault_key": "INNSIGHT_VAULT_KEY", "webhook_secret": "INNSIGHT_WEBHOOK_SECRET"}
REAL = {"jwt_secret": "a-real-jwt-secret-from-the-vault", "pseudonym_key": "a-real-pseudonym-key",
        "vault_key": "a-real-contact-vault-key", "webhook_secret": "a-real-webhook-secret"}


def test_every_development_secret_is_covered_here():
    assert set(DEVELOPMENT_SECRETS) == set(SECRET_SETTINGS)


def test_the_embedded_profile_runs_on_the_development_defaults(tmp_path):
    s = Settings(home=tmp_path, profile="embedded", **DEVELOPMENT_SECRETS)
    assert s.profile == "embedded"
    for name, default in DEVELOPMENT_SECRETS.items():
        assert getattr(s, name).get_secret_value() == default


def test_production_with_every_default_names_every_secret_to_set(tmp_path):
    with pytest.raises(ValidationError) as err:
        # (passed explicitly: the machine's environment may hold real ones)
        Settings(home=tmp_path, profile="production", **DEVELOPMENT_SECRETS)
    message = str(err.value)
    assert "production profile needs real secrets" in message
    for variable in SECRET_SETTINGS.values():
        assert variable in message


@pytest.mark.parametrize("left", sorted(SECRET_SETTINGS))
def test_production_refuses_each_development_secret_alone(tmp_path, left):
    given = {k: v for k, v in REAL.items() if k != left}
    with pytest.raises(ValidationError) as err:
        Settings(home=tmp_path, profile="production", **given, **{left: DEVELOPMENT_SECRETS[left]})
    message = str(err.value)
    assert SECRET_SETTINGS[left] in message
    for other in set(SECRET_SETTINGS) - {left}:
        assert SECRET_SETTINGS[other] not in message


def test_production_with_real_secrets_builds(tmp_path):
    s = Settings(home=tmp_path, profile="production", **REAL)
    assert s.profile == "production"
    assert s.jwt_secret.get_secret_value() == REAL["jwt_secret"]
    assert s.pseudonym_key.get_secret_value() == REAL["pseudonym_key"]
    assert REAL["jwt_secret"] not in repr(s) and REAL["pseudonym_key"] not in repr(s)
    assert s.mlflow_uri == "postgresql://postgres@127.0.0.1:5432/innsight_mlflow"
    assert s.rate_limit_storage == s.redis_url


def test_an_env_file_with_the_production_profile_is_held_to_the_same_rule(tmp_path):
    env = tmp_path / "innsight.env"
    env.write_text(f"INNSIGHT_PROFILE=production\nINNSIGHT_HOME={tmp_path / 'home'}\n"
                   f"INNSIGHT_JWT_SECRET={REAL['jwt_secret']}\nINNSIGHT_VAULT_KEY={REAL['vault_key']}\n"
                   f"INNSIGHT_WEBHOOK_SECRET={REAL['webhook_secret']}\n")
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=env)
    assert "INNSIGHT_PSEUDONYM_KEY" in str(err.value) and "INNSIGHT_JWT_SECRET" not in str(err.value)
    env.write_text(env.read_text() + f"INNSIGHT_PSEUDONYM_KEY={REAL['pseudonym_key']}\n")
    s = Settings(_env_file=env)
    assert s.profile == "production" and s.home == tmp_path / "home"
    assert s.pseudonym_key.get_secret_value() == REAL["pseudonym_key"]


def test_the_api_runs_one_worker_embedded_and_one_per_core_in_production(tmp_path, monkeypatch):
    import os

    monkeypatch.delenv("INNSIGHT_API_WORKERS", raising=False)
    assert Settings(home=tmp_path).serving_workers == 1  # in-process rate limits, SQLite
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert Settings(home=tmp_path, profile="production", **REAL).serving_workers == 2
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # each worker loads every model
    assert Settings(home=tmp_path, profile="production", **REAL).serving_workers == 4
    assert Settings(home=tmp_path, api_workers=3).serving_workers == 3
    with pytest.raises(ValidationError):
        Settings(home=tmp_path, api_workers=-1)
