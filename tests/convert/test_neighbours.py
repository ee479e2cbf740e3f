"""Which accounts of the file may be the new account's real one, and what their prune
patterns would delete."""

from __future__ import annotations

from reconcile.convert.neighbours import Neighbour, neighbours
from reconcile.loader import load_text

FILE = """\
version: 1
providers:
  a:
    type: signalwire
    space: acme
    credentials: {project_id: "${P}", token: "${T}"}
    prune: {match: "team-*"}
    rooms: [{name: team-a}]
    conferences: [{name: team-b}]
  b:
    type: signalwire
    space: other
    credentials: {project_id: "${P}", token: "${T}"}
  c:
    type: telnyx
    credentials: {api_key: "${P}"}
"""


def test_the_same_type_credentials_and_locators_make_a_neighbour() -> None:
    document = load_text(FILE, "rooms.yaml")
    found = neighbours(document, "signalwire", {"project_id": "${P}", "token": "${T}"},
                       {"space": "acme", "endpoint": "http://127.0.0.1:9"})
    assert found == [Neighbour("a", "team-*", frozenset({("rooms", "team-a"),
                                                          ("conferences", "team-b")}))]
    assert neighbours(document, "signalwire", {"project_id": "${X}", "token": "${T}"},
                      {"space": "acme"}) == []


def test_a_prune_pattern_spares_the_rooms_both_declare() -> None:
    other = Neighbour("a", "team-*", frozenset({("rooms", "team-a"),
                                                ("conferences", "team-b")}))
    assert not other.deletes("rooms", "team-a")  # it declares it: never pruned
    assert other.deletes("rooms", "team-b")  # a conference of that name is another room
    assert not other.deletes("rooms", "lobby")
    assert not Neighbour("n", None, frozenset()).deletes("rooms", "team-x")
    assert other.hit_by("team-*", "rooms", {"team-a"}) == ["team-b"]
    assert other.hit_by("*", "conferences", {"team-b"}) == ["team-a"]
