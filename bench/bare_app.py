"""The reference point of `make bench`: the smallest FastAPI app, small JSON in and out.

`GET /ping` answers at once; `POST /ping` and `PUT /ping` first read their JSON body into a
pydantic model of the same shape as Patron's register and update bodies (the benchmark sends
them the very bodies it sends Patron). bench/run.py serves it with uvicorn the way Patron is
served (uvloop, httptools, as many processes as Patron, no access log), so "Patron vs bare"
shows what Patron's own work costs.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI()


class Identifier(BaseModel):
    type: str
    value: str


class Profile(BaseModel):
    firstName: str | None = None
    lastName: str | None = None
    source: str | None = None
    identifiers: list[Identifier] = Field(default_factory=list)


class CustomerBody(BaseModel):
    profiles: list[Profile] = Field(default_factory=list)


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/ping")
async def ping_post(body: CustomerBody) -> dict[str, str | int]:
    return {"status": "ok", "profiles": len(body.profiles)}


@app.put("/ping")
async def ping_put(body: CustomerBody) -> dict[str, str | int]:
    return {"status": "ok", "profiles": len(body.profiles)}
