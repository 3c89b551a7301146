"""Every answer of a provider stored by (provider, prompt) in one SQLite file.

An LLM audit asks hundreds of prompts; with the cache, re-scoring (other metrics, another K,
another title matching) reads the same answers again, exactly and for free, and an interrupted
audit resumes. Each answer is committed as it arrives (SQLite transactions: a crash loses at
most the request in flight, never a half-written file).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from equirec.errors import ConfigError
from equirec.llm.providers import Provider

__all__ = ["ResponseCache"]


def _key(provider: str, prompt: str) -> str:
    return hashlib.sha256(json.dumps([provider, prompt]).encode("utf-8")).hexdigest()


@dataclass
class ResponseCache:
    """Answers by provider and prompt; ``path=None`` keeps them in memory only.

    Attributes:
        hits: Answers read from the cache since it was opened.
        misses: Answers asked of a provider since it was opened.
    """

    path: str | Path | None = None
    hits: int = 0
    misses: int = 0
    _db: sqlite3.Connection = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.path is not None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if self.path is None else str(self.path))
        try:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, provider TEXT NOT NULL, "
                "prompt TEXT NOT NULL, answer TEXT NOT NULL, created TEXT NOT NULL)"
            )
            self._db.commit()
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise ConfigError(
                f"{self.path}: not an answer cache ({err}); give another --cache file"
            ) from err

    def get(self, provider: str, prompt: str) -> str | None:
        """The stored answer, or ``None``."""
        row = self._db.execute(
            "SELECT answer FROM answers WHERE key = ?", (_key(provider, prompt),)
        ).fetchone()
        return None if row is None else str(row[0])

    def put(self, provider: str, prompt: str, answer: str) -> None:
        """Store an answer (committed at once)."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
                (
                    _key(provider, prompt),
                    provider,
                    prompt,
                    answer,
                    datetime.now(timezone.utc).isoformat(timespec="seconds"),
                ),
            )

    def ask(self, provider: Provider, prompt: str) -> str:
        """The cached answer of ``provider`` to ``prompt``, asking it only when none is stored."""
        answer = self.get(provider.name, prompt)
        if answer is not None:
            self.hits += 1
            return answer
        answer = provider.complete(prompt)
        self.misses += 1
        self.put(provider.name, prompt, answer)
        return answer

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        self._db.close()
