"""The operator console: server-rendered pages (Jinja2, a little htmx) for the people behind
the counter and in the support desk, served by the API's own process under `/console`.

It is an adapter like the API surfaces: its routes map forms to the same service calls and
render what they return; the rules stay in the feature slices. Sessions are
security/sessions.py; `install(app)` (pages.py) adds the routes and the static files.
"""
