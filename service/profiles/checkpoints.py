"""SQLite's WAL checkpoints, moved off the commit path.

By default the connection that commits a transaction pushing the write-ahead log past 1,000 pages also
copies the log back into the database file and syncs it, inside that commit: every ~1,000 pages one
group of requests waited for two fsyncs. Measured with single events at one client (bench/ingest.py's
load, wrk -c1, the server on one core, 3 rounds): p99 5.3-5.4 ms with SQLite's automatic checkpoints,
3.6-4.4 ms with them in this thread.

Here a thread with its own connection runs a PASSIVE checkpoint every `interval` seconds (0.1): it never takes
the write lock, so commits go on while it copies and syncs, and once it has copied the whole log the next
transaction starts the log from its beginning again. Under light load that is all there is: no commit
checkpoints. Under sustained writes that moment never comes (each group commits frames past the last
copy), so the writer's own automatic checkpoint stays, at SQLite's 1,000 pages (`SAFETY_PAGES`): by then
this thread has copied most of the log, and the writer's pass, which starts the log over, copies the rest.

The limit was 20,000 pages, to keep checkpoints out of commits under load too. Measured with single
events at ~2,000 a second after 65,000 batched events (bench/ingest.py's paced load, ext4, 3 alternated
rounds each): p99 14-25 ms with that ~80 MB log, 9.1-12.8 ms at 1,000 pages, 9.2-10.8 ms with SQLite's
checkpoints alone; on a fresh database all three measured 5.8-8.3 ms. On tmpfs the 80 MB log measured
2.5-4.2 ms: what the large log cost was the disk's writeback of it, not SQLite's work. The same load
with this thread every 0.1 s instead of 0.5 s: 9.2-9.6 ms against 8.9-12.3 (4 runs each, alternated);
an idle pass, with nothing to copy, costs next to nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

SAFETY_PAGES = 1_000  # ~4 MB of log at 4 KiB pages: the writer checkpoints itself past this
_log = logging.getLogger("uvicorn.error")


class Checkpointer:
    def __init__(self, path: str, interval: float = 0.1, busy_timeout: float = 5.0) -> None:
        self.path, self.interval = path, interval
        self._db = sqlite3.connect(path, busy_timeout, check_same_thread=False, isolation_level=None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"checkpoints {path}", daemon=True)
        self._thread.start()

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint now: (1 if it could not finish, frames in the log, frames copied)."""
        busy, frames, copied = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(frames), int(copied)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint()
            except sqlite3.Error as exc:  # a full or failing disk: the writer's own errors say it too
                _log.warning("%s: checkpoint failed: %s", self.path, exc)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._db.close()
