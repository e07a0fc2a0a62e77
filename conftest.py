"""Root pytest configuration: offline environment for every test, and collection exclusions."""

import os

# Offline everywhere: MLflow and GX must never reach the network during tests.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TIERING_ENV", "test")

# Alembic's env.py only runs inside alembic; bench scripts are run by `make bench`, not pytest.
collect_ignore_glob = ["*/migrations/*", "bench/*", "notebooks/*"]
