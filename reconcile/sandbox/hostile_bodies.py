"""The hostile modes that rewrite an emulator's JSON answer: where each provider keeps its
rooms and its next-page link, and the rewrites themselves (see `hostile.py`).

Rooms are found generically (a room is an object holding the provider's id field: the
body itself, a list of them, or one under a key of the body), so only the paging style and
the fields to break differ per provider.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reconcile.sandbox.declaration import BodyShape
from reconcile.sandbox.registry import DECLARATIONS

PAGE_PARAM = "_hostile_page"  # the endless chain's own page counter (hidden from emulators)
ENDLESS_PAGES = 10**9  # what a numbered list claims in `endless` mode


# provider -> how it shapes its answers, as its folder declares (see `registry.py`)
SHAPES: dict[str, BodyShape] = {
    provider: declared.hostile for provider, declared in DECLARATIONS.items()}


def rooms_in(body: Any, id_field: str) -> list[dict[str, Any]]:
    """The room objects of an answer: the body, its items, or those under one key."""
    def is_room(value: Any) -> bool:
        return isinstance(value, dict) and id_field in value

    if is_room(body):
        return [body]
    if isinstance(body, list):
        return [item for item in body if is_room(item)]
    if isinstance(body, dict):
        for value in body.values():
            found = rooms_in(value, id_field) if isinstance(value, list | dict) else []
            if found:
                return found
    return []


def other_type(value: Any) -> Any:
    """A value of another JSON type than `value`'s."""
    if isinstance(value, str):
        return 12345
    if isinstance(value, bool | int | float):
        return "12345"
    return 12345 if value is None else "not-a-" + type(value).__name__


def break_type(body: Any, shape: BodyShape, field: str | None) -> Any:
    """The first room's `field` (by default the shape's) turned to another type."""
    rooms = rooms_in(body, shape.id_field)
    if rooms:
        name = field or shape.broken_field
        rooms[0][name] = other_type(rooms[0].get(name))
    return body


def drop_field(body: Any, shape: BodyShape, field: str | None) -> Any:
    """The first room without `field` (by default the one the shape says is needed)."""
    rooms = rooms_in(body, shape.id_field)
    if rooms:
        rooms[0].pop(field or shape.needed_field or shape.id_field, None)
    return body


def set_next(body: Any, path: tuple[str, ...], link: str | None) -> Any:
    """The body with its next-page link (at `path`) set, or its rooms emptied (None)."""
    if not isinstance(body, dict):
        return body
    node = body
    for step in path[:-1]:
        node = node.setdefault(step, {})
        if not isinstance(node, dict):
            return body
    node[path[-1]] = link
    return body


def without_rooms(body: Any, id_field: str) -> Any:
    """The body with the list its rooms are in emptied (a later page of an endless chain)."""
    if isinstance(body, list):
        return []
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(value, list) and rooms_in(value, id_field):
                body[key] = []
    return body


def hostile_page(query: str) -> tuple[int, str]:
    """The endless chain's page number in a query string (1 when absent), and the query
    without it, as the emulator must see it."""
    pairs = parse_qsl(query, keep_blank_values=True)
    page = next((int(v) for k, v in pairs if k == PAGE_PARAM and v.isdigit()), 1)
    return page, urlencode([(k, v) for k, v in pairs if k != PAGE_PARAM])


def endless_link(url: str, page: int) -> str:
    """The link from page `page` of an endless chain (at `url`) to the next one."""
    parts = urlsplit(url)
    _, query = hostile_page(parts.query)
    more = urlencode({PAGE_PARAM: page + 1})
    return urlunsplit(parts._replace(query=f"{query}&{more}" if query else more))


def elsewhere(location: str, url: str) -> str:
    """`url`'s path and query on the host of `location`: what a phishing redirect or link
    would ask for (a Metered URL then carries the secret key along)."""
    parts = urlsplit(url)
    return location + parts.path + (f"?{parts.query}" if parts.query else "")


def page_number(query: str, param: str) -> int:
    """The page a numbered list's query asks for (1 when absent)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return next((int(v) for k, v in pairs if k == param and v.isdigit()), 1)


def first_page(query: str, param: str) -> str:
    """The query asking for page 1 instead (a loop answers every page with the first)."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != param]
    return urlencode([*pairs, (param, "1")])


def claim_pages(body: Any, path: tuple[str, ...], pages: int) -> Any:
    """A numbered page that says (at `path`) there are `pages` of them."""
    node = body
    for step in path[:-1]:
        node = node.get(step) if isinstance(node, dict) else None
    if path and isinstance(node, dict):
        node[path[-1]] = pages
    return body


def without_param(query: str, param: str) -> str:
    """The query without `param` (a cursor the emulator must not see: the page it would
    start after is a made-up one, or the loop asks for the first page again)."""
    return urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
                      if k != param])


def query_value(query: str, param: str) -> str | None:
    return next((v for k, v in parse_qsl(query, keep_blank_values=True) if k == param), None)


def full_page(body: Any, shape: BodyShape, size: int, salt: str | None) -> Any:
    """A cursor page made full (`size` rooms), so that a client asks for the next one:
    copies of its first room with made-up ids and keys. Without `salt` the copies are the
    same on every page (a loop); with one they are new (an endless list), and the page
    holds nothing else."""
    if not isinstance(body, dict):
        return body
    for key, value in body.items():
        rooms = rooms_in(value, shape.id_field) if isinstance(value, list) else []
        if not rooms:
            continue
        kept = [] if salt is not None else rooms
        made = [{**rooms[0], shape.id_field: f"hostile-{salt or 'loop'}-{n}",
                 **({shape.key_field: f"hostile-{salt or 'loop'}-{n}"}
                    if shape.key_field else {})}
                for n in range(max(size - len(kept), 0))]
        body[key] = kept + made
        break
    return body
