"""The reference point of `make bench`: the smallest FastAPI app, one GET route, small JSON.

bench/run.py serves it with uvicorn the way Patron is served (uvloop, httptools, one
process, no access log), so "Patron vs bare" shows what Patron's own work costs.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}
