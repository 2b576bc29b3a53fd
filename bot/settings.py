"""Reading settings from the environment and `.env`, and the checks that must fail loudly."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot import config as defaults

# Every name a deployment may set (docs/CONTRACT.md), plus the tuning knobs.
ENV_NAMES: tuple[str, ...] = (
    "ENV",
    "WECHAT_TOKEN",
    "WECHAT_APP_ID",
    "WECHAT_APP_SECRET",
    "WECHAT_AES_KEY",
    "WECHAT_API_BASE",
    "WECHAT_ACCOUNT_ID",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "WEBHOOK_TIMESTAMP_WINDOW_SECONDS",
    "WEBHOOK_REPLY_BUDGET_SECONDS",
    "DIALOGUE_TTL_SECONDS",
    "CHORES_INTERVAL_SECONDS",
    "PROXY_COUNT",
    "PUBLIC_BASE_URL",
    "PORT",
    "ATTACHMENTS_FOLDER",
    "SESSION_COOKIE_SECURE",
    "WECHAT_NOTICE_TEMPLATE_ID",
    "NOTICE_TEMPLATE_ID",
    "NOTICE_APPROVAL_THRESHOLD",
    "WECHAT_ACCOUNT_TYPE",
    "NOTICE_BATCH_SIZE",
    "NOTICE_LEASE_SECONDS",
    "NOTICE_SEND_THREADS",
    "NOTICE_CHAINS",
    "NOTICE_SWEEP_SECONDS",
    "NOTICE_REQUEST_TIMEOUT",
    "APPEAL_ANSWER_WORKDAYS",
    "APPEAL_COMPLEX_CATEGORIES",
    "WECHAT_CASE_TEMPLATE_ID",
    "ORG_NAME",
    "ORG_SHORT_NAME",
    "ORG_PHONE",
    "ORG_ADDRESS",
    "ORG_OFFICE_HOURS",
    "ORG_EMAIL",
    "ORG_CHAMBER_DEPT",
    "ORG_LEGAL_DEPT",
    "ORG_ECONOMIC_DEPT",
    "ORG_MEDIATION_COMMITTEE",
    "ORG_LEGAL_CHECKUP_FEE",
    "ORG_PARTNER_BANKS",
)


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message says which and what to do."""


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file (KEY=VALUE lines, # comments, optional quotes)."""
    from dotenv import dotenv_values

    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def settings_from_env(environ: Mapping[str, str], dotenv: Mapping[str, str]) -> dict[str, Any]:
    """Pick the known names from the environment, the environment winning over `.env`."""
    merged = {**dotenv, **environ}
    out: dict[str, Any] = {}
    for name in ENV_NAMES:
        raw = merged.get(name)
        if raw is None or raw == "":
            continue
        default = getattr(defaults, name, None)
        if isinstance(default, bool):
            out[name] = raw.lower() in {"1", "true", "yes", "on"}
        elif isinstance(default, int):
            out[name] = int(raw)
        elif isinstance(default, float):
            out[name] = float(raw)
        else:
            out[name] = raw
    if "PUBLIC_BASE_URL" not in out and "PORT" in out:
        # `make run` serves on 127.0.0.1:$PORT (docs/CONTRACT.md); links in replies must
        # lead there, not to the default port.
        out["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{out['PORT']}"
    if merged.get("FLASK_ENV") == "production" and "ENV" not in out:
        out["ENV"] = "production"
    return out


def normalise_db_url(url: str | None, instance_path: str) -> str:
    """The SQLite file under `instance/` when unset; `postgres://` rewritten for SQLAlchemy 2."""
    if not url:
        return f"sqlite:///{Path(instance_path) / 'shanghui.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we pin; the bare scheme would look for psycopg2.
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


SECRET_KEY_FILE = "secret_key"


def read_secret_key(instance_path: str | Path) -> str | None:
    """The key ``flask init`` wrote into `instance/secret_key`, or None when there is none."""
    path = Path(instance_path) / SECRET_KEY_FILE
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        return None
    return key or None


def create_secret_key(instance_path: str | Path) -> str:
    """Generate a random key into `instance/secret_key` once (``flask init``), so sessions
    survive restarts and every process of the host signs with the same key."""
    existing = read_secret_key(instance_path)
    if existing:
        return existing
    path = Path(instance_path) / SECRET_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: two processes initialising at once must end up with the same key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


MIN_SECRET_KEY_CHARS = 32
_WELL_KNOWN_SECRETS = frozenset({"secret", "changeme", "change-me", "dev", "development", "test"})


def _guessable(secret: str) -> bool:
    """A long key that is still no secret: one character repeated, or a placeholder word."""
    rest = secret.lower()
    for word in _WELL_KNOWN_SECRETS:
        rest = rest.replace(word, "")
    # What is left once the placeholder words are taken out must still be long.
    return len(set(secret)) < 8 or len(rest) < MIN_SECRET_KEY_CHARS // 2


def check_production(cfg: Mapping[str, Any]) -> None:
    """Refuse to run production with development secrets or a malformed AES key."""
    aes = cfg.get("WECHAT_AES_KEY") or ""
    if aes and len(aes) != 43:
        raise ConfigError("WECHAT_AES_KEY must be the 43-character EncodingAESKey.")
    if cfg.get("ENV") != "production":
        return
    if cfg.get("WECHAT_TOKEN") in ("", None, defaults.DEV_WECHAT_TOKEN):
        raise ConfigError("Production needs WECHAT_TOKEN set to the official account's token.")
    secret = str(cfg.get("SECRET_KEY") or "")
    if (
        secret == defaults.DEV_SECRET_KEY
        or len(secret) < MIN_SECRET_KEY_CHARS
        or _guessable(secret)
    ):
        # It signs console sessions: a short or well-known key lets anyone forge a sign-in.
        raise ConfigError(
            f"Production needs SECRET_KEY set to a long random value (at least "
            f"{MIN_SECRET_KEY_CHARS} characters, e.g. `python -c 'import secrets; "
            f"print(secrets.token_hex(32))'`)."
        )
    if cfg.get("WECHAT_APP_SECRET") in ("", None, defaults.WECHAT_APP_SECRET):
        raise ConfigError("Production needs WECHAT_APP_ID and WECHAT_APP_SECRET.")
