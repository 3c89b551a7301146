"""Run the service with uvicorn: one process, or ``workers`` processes that each load the run."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from equirec.errors import ConfigError
from equirec.serve._extra import require

log = logging.getLogger(__name__)

__all__ = ["serve"]


def serve(
    run_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    threads: int = 1,
    policy: str | Path | None = None,
    access_log: bool = True,
) -> None:
    """Serve a run folder over HTTP until interrupted.

    It binds to the loopback interface by default: put a reverse proxy with TLS,
    authentication and rate limits in front of it before exposing it.

    Args:
        run_dir: A folder written by ``equirec run`` with a saved model.
        host: The interface to bind (``0.0.0.0`` for all: only behind a proxy).
        port: The TCP port.
        workers: Processes; each loads the run once and scores one request at a time.
        threads: Torch threads per worker (0: torch's default).
        policy: A TOML policy file (:mod:`equirec.serve.policy`): the re-ranker applied to
            every known user's list whose request names no policy.
        access_log: Log every request (uvicorn's access log).

    Raises:
        ConfigError: FastAPI or uvicorn not installed; ``workers``, ``port`` or ``threads``
            out of range; a policy file that is unreadable or cannot re-rank the run's lists.
        DataError: Not a run folder, or one without a saved model.
    """
    require("fastapi", "uvicorn")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {port}")
    if threads < 0:
        raise ConfigError(f"--threads must be 0 (torch's default) or more, got {threads}")
    import uvicorn

    from equirec.serve.app import POLICY_ENV, RUN_DIR_ENV, THREADS_ENV, create_app

    # Loaded here first: a bad folder or policy fails now, with its message, before anything
    # binds.
    app = create_app(run_dir, threads=threads or None, policy=policy)
    log.info("equirec serve: http://%s:%d (docs at /docs)", host, port)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)
        return
    os.environ[RUN_DIR_ENV] = str(Path(run_dir).resolve())
    os.environ[THREADS_ENV] = str(threads)
    if policy is not None:
        os.environ[POLICY_ENV] = str(Path(policy).resolve())
    del app
    uvicorn.run(
        "equirec.serve.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
    )
