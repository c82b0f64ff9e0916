"""``vouch verify``: check what you install, a whole lock file at a time.

```
locks.py       pylock.toml, uv.lock, hashed requirements.txt, pypi:NAME==VERSION -> pinned files
model.py       the states a file ends in, the tasks and their outcomes (pure data, picklable)
tasks.py       the per-file and per-release checks: pure functions of their inputs (index, provenance)
continuity.py  publisher continuity: this release's publisher against its history and the recorded one
evidence.py    the verify policy (accepted states and identities, vouch evidence per project)
sources.py     where evidence is read from: a path, or an https URL through the bounded client
store.py       results and recorded identities in SQLite or PostgreSQL (SQLAlchemy Core)
fanout.py      the tasks run in-process or on Dask distributed (a LocalCluster or a scheduler)
run.py         the whole verification: read, look up settled results, fan out, store, decide
render.py      the summary table, the JSON document and a plain HTML page
```
"""
