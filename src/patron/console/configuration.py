"""Configuration: the org configuration as a form-backed JSON editor, programs and tiers as tables.

The editor holds the document `GET /v2/org/config` answers, pretty-printed. Saving reads it
as `PUT /v2/org/config` reads its body (orjson, the API's body limit, no NUL character, a
JSON object, `OrgConfig`) and writes it with the same use case (orgs/service.py
`replace_config`). A refused document comes back as sent, with each problem listed beside
the editor under the top-level section it lies in, naming its field's dotted path and line
(config_problems.py). The session re-reads the configuration whenever the org row's stamp
changes, so a saved configuration holds from the next page on.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from patron.api.deps import AppSettings, Db
from patron.console.config_problems import (
    SECTIONS,
    Problem,
    field_lines,
    syntax_problem,
    validation_problems,
)
from patron.console.pages import Pages, redirect
from patron.console.web import (
    ROOT,
    FormTooLarge,
    MaybeOperator,
    PagesDep,
    csrf_ok,
    page,
    read_form,
    refused,
    sign_in_first,
    too_large,
)
from patron.errors import PatronError
from patron.orgs import service
from patron.orgs.config import OrgConfig
from patron.security.sessions import Operator

router = APIRouter(prefix=ROOT, include_in_schema=False)

PATH = f"{ROOT}/config"
# Confirmations a redirect may ask for (?done=...): the text is ours, never the URL's.
DONE = {"saved": "Configuration saved."}


def _pretty(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def _render(
    pages: Pages,
    operator: Operator,
    *,
    text: str,
    problems: list[Problem] | None = None,
    done: str = "",
    status: int = 200,
) -> Response:
    problems = problems or []
    config: OrgConfig = operator.config  # the configuration in force: what the tables show
    try:
        sent = orjson.loads(text) if problems else None
    except orjson.JSONDecodeError:
        sent = None
    # The outline: every section OrgConfig knows, and any other key the operator wrote.
    keys = list(SECTIONS)
    if isinstance(sent, dict):
        keys += [str(k) for k in sent if str(k) not in SECTIONS]
    by_section: dict[str, list[Problem]] = {}
    for problem in problems:
        by_section.setdefault(problem.section, []).append(problem)
    return pages.render(
        "config.html",
        status,
        text=text,
        rows=min(40, max(12, text.count("\n") + 2)),
        problems=problems,
        general=by_section.get("", []),
        outline=[(key, by_section.get(key, [])) for key in keys],
        lines=field_lines(text),
        done=DONE.get(done, ""),
        programs=config.loyalty_programs,
        **page(operator, "config"),
    )


@router.get("/config")
async def config_page(request: Request, pages: PagesDep, operator: MaybeOperator) -> Response:
    if operator is None:
        return sign_in_first(request)
    text = _pretty(operator.config.to_document())
    return _render(pages, operator, text=text, done=request.query_params.get("done", ""))


def _holds_nul(document: Any) -> bool:
    """Whether a string or key of the document holds U+0000 (the API refuses those too)."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and "\x00" in node:
            return True
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _problems(text: str, max_bytes: int) -> tuple[list[Problem], OrgConfig | None]:
    """What PUT /v2/org/config would refuse in this text, or the configuration it holds."""
    if len(text.encode()) > max_bytes:
        return [Problem("", f"The configuration is larger than the API accepts ({max_bytes} bytes).")], None
    if not text.strip():
        return [Problem("", "The configuration is empty: write a JSON object.")], None
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return [syntax_problem(exc)], None
    if _holds_nul(document):
        return [Problem("", "The configuration holds the NUL character (U+0000).")], None
    if not isinstance(document, dict):
        return [Problem("", "The configuration must be a JSON object.")], None
    try:
        return [], OrgConfig.model_validate(document)
    except ValidationError as exc:
        return validation_problems(exc, document, text), None


@router.post("/config")
async def save_config(
    request: Request, pages: PagesDep, db: Db, settings: AppSettings, operator: MaybeOperator
) -> Response:
    if operator is None:
        return sign_in_first(request)
    # The document may be as large as the API accepts; URL-encoded, up to three times that.
    try:
        form = await read_form(request, 3 * settings.max_body_bytes + 4096)
    except FormTooLarge:
        return too_large(pages)
    if not csrf_ok(request, form, operator):
        return refused(pages, operator)
    text = form.get("config", "").replace("\r\n", "\n")
    problems, config = _problems(text, settings.max_body_bytes)
    if config is not None:
        try:
            await db.write(service.replace_config, operator.org_id, config)
        except PatronError as exc:
            problems = [Problem("", exc.message)]
        else:
            return redirect(f"{PATH}?done=saved")
    return _render(pages, operator, text=text, problems=problems, status=400)
