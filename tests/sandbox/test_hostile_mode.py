"""Hostile mode in the fault layer: set through the control API like any fault, seeded,
applied to successful GET answers only. (What the adapters make of it: tests/engine/
test_hostile.py.)"""

from __future__ import annotations

import json
import time

import httpx
import pytest
from pydantic import ValidationError

from reconcile.sandbox.client import SandboxControl, SandboxControlError
from reconcile.sandbox.core import Sandbox
from reconcile.sandbox.declaration import BodyShape
from reconcile.sandbox.faults import FaultConfig, get_faults, set_faults
from reconcile.sandbox.hostile import SHAPED_MODES
from reconcile.sandbox.hostile_bodies import (
    SHAPES,
    break_type,
    drop_field,
    full_page,
    query_value,
    rooms_in,
    without_param,
)
from reconcile.sandbox.server import SandboxServer


def seed_two(api: httpx.Client) -> None:
    for name in ("a", "b"):
        assert api.post("/v1/rooms", json={"name": name}).status_code == 201


def test_it_is_set_read_and_cleared_through_the_control_api(control: SandboxControl) -> None:
    shown = control.set_faults("fake", hostile={"mode": "huge", "size_bytes": 1000})
    assert shown["hostile"] == {
        "mode": "huge", "rate": 1.0, "field": None, "size_bytes": 1000, "declare_size": False,
        "location": "http://evil.example", "redirect_status": 302, "drip_bytes": 1,
        "drip_interval_s": 0.2}
    assert control.faults("fake")["hostile"]["mode"] == "huge"
    assert control.clear_faults("fake")["hostile"] is None


@pytest.mark.parametrize(("hostile", "field"), [
    ({"mode": "nope"}, "hostile.mode"), ({"mode": "huge", "size_bytes": 0}, "hostile.size_bytes"),
    ({"mode": "redirect", "location": "http://evil.example/path"}, "hostile.location"),
    ({"mode": "loop", "rate": 2}, "hostile.rate"), ({"mode": "loop", "x": 1}, "hostile.x")])
def test_bad_settings_are_refused_naming_the_field(
        control: SandboxControl, hostile: dict[str, object], field: str) -> None:
    with pytest.raises(SandboxControlError) as caught:
        control.set_faults("fake", hostile=hostile)
    assert caught.value.status == 400
    assert field in [error["field"] for error in caught.value.body["errors"]]
    with pytest.raises(ValidationError):
        FaultConfig.model_validate({"hostile": hostile})


def test_only_successful_get_answers_are_made_hostile(
        api: httpx.Client, control: SandboxControl) -> None:
    control.set_faults("fake", hostile={"mode": "malformed_json"})
    created = api.post("/v1/rooms", json={"name": "a"})
    assert created.status_code == 201 and created.json()["name"] == "a"  # a write: intact
    missing = api.get("/v1/rooms/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": "not found"})
    broken = api.get("/v1/rooms")
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()
    assert int(broken.headers["content-length"]) == len(broken.content)  # complete, just bad


def test_the_rate_is_drawn_from_the_seeded_sequence(
        api: httpx.Client, control: SandboxControl) -> None:
    def pattern() -> list[bool]:
        control.set_faults("fake", hostile={"mode": "malformed_json", "rate": 0.5}, seed=7)
        answers = [api.get("/v1/rooms").content for _ in range(30)]
        return [not body.startswith(b'{"data":[]}') for body in answers]

    first = pattern()
    assert 5 < sum(first) < 25
    assert pattern() == first  # the same configuration again: the same answers


def test_a_redirect_points_elsewhere_with_the_path_and_query(
        api: httpx.Client, control: SandboxControl) -> None:
    control.set_faults("fake", hostile={"mode": "redirect", "redirect_status": 307})
    response = api.get("/v1/rooms", params={"secretKey": "S3"})
    assert response.status_code == 307
    assert response.headers["location"] == "http://evil.example/fake/v1/rooms?secretKey=S3"


def test_moved_redirects_on_the_same_origin_once(api: httpx.Client, control: SandboxControl
                                                ) -> None:
    seed_two(api)
    control.set_faults("fake", hostile={"mode": "moved", "redirect_status": 301})
    for params, marked in (({}, "?sandbox_moved=1"), ({"a": "1"}, "?a=1&sandbox_moved=1")):
        first = api.get("/v1/rooms", params=params)
        assert first.status_code == 301
        assert first.headers["location"] == f"{str(api.base_url).rstrip('/')}/v1/rooms{marked}"
        second = api.get(first.headers["location"])  # the real answer, without the mark
        assert second.status_code == 200
        assert [room["name"] for room in second.json()["data"]] == ["a", "b"]


def test_truncated_promises_more_than_it_sends(api: httpx.Client, control: SandboxControl
                                              ) -> None:
    seed_two(api)
    control.set_faults("fake", hostile={"mode": "truncated"})
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/v1/rooms")


@pytest.mark.parametrize("declare", [False, True])
def test_huge_is_valid_json_of_the_size_asked(api: httpx.Client, control: SandboxControl,
                                              declare: bool) -> None:
    seed_two(api)
    control.set_faults("fake", hostile={"mode": "huge", "size_bytes": 300_000,
                                        "declare_size": declare})
    response = api.get("/v1/rooms")
    assert len(response.content) >= 300_000
    assert [room["name"] for room in response.json()["data"]] == ["a", "b"]
    assert ("content-length" in response.headers) is declare


def test_a_slow_drip_trickles_the_real_body(api: httpx.Client, control: SandboxControl
                                           ) -> None:
    control.set_faults("fake", hostile={"mode": "slow_drip", "drip_bytes": 4,
                                        "drip_interval_s": 0.05})
    started = time.monotonic()
    response = api.get("/v1/rooms")
    elapsed = time.monotonic() - started
    assert response.json() == {"data": []}
    assert elapsed >= 0.05 * (len(response.content) // 4)


def test_rooms_are_found_and_broken_in_any_answer_shape() -> None:
    twilio = SHAPES["twilio"]
    page = {"rooms": [{"sid": "RM1", "unique_name": "a"}], "meta": {"key": "rooms"}}
    assert rooms_in(page, "sid") == page["rooms"]
    assert rooms_in({"sid": "RM1"}, "sid") == [{"sid": "RM1"}]
    assert rooms_in([{"_id": 1}, "x"], "_id") == [{"_id": 1}]
    assert break_type(json.loads(json.dumps(page)), twilio, None)["rooms"][0]["unique_name"] \
        == 12345
    assert break_type({"sid": "RM1", "max_participants": 5}, twilio,
                      "max_participants")["max_participants"] == "12345"
    assert drop_field({"rooms": [{"sid": "RM1"}]}, twilio, None) == {"rooms": [{}]}
    assert drop_field([{"_id": "x", "roomName": "a"}], SHAPES["metered"], None) == [{"_id": "x"}]


def test_set_faults_in_process(sandbox: Sandbox, fake_server: SandboxServer) -> None:
    set_faults(sandbox, "fake", {"hostile": {"mode": "loop"}})
    config = get_faults(sandbox, "fake")
    assert config.hostile is not None and config.hostile.mode == "loop"
    assert not config.is_noop


@pytest.mark.parametrize("mode", sorted(SHAPED_MODES))
def test_a_json_mode_on_an_emulator_without_a_shape_is_an_error(
        api: httpx.Client, control: SandboxControl, mode: str) -> None:
    # The fake is served but not registered: it declares no answer shape, so a mode that
    # needs one says so instead of answering the real body as if nothing were wrong.
    seed_two(api)
    control.set_faults("fake", hostile={"mode": mode})
    response = api.get("/v1/rooms")
    assert response.status_code == 500
    assert f"hostile mode {mode} needs fake's answer shape" in response.text


def test_a_cursor_page_is_filled_the_same_for_a_loop_and_anew_for_an_endless_list() -> None:
    shape = BodyShape("id", "name", "cursor", cursor_param="after", limit_param="limit",
                      page_size=3)
    page = {"total_count": 1, "data": [{"id": "r1", "name": "a", "x": 1}]}
    loop = full_page(json.loads(json.dumps(page)), shape, 3, None)
    assert [r["id"] for r in loop["data"]] == ["r1", "hostile-loop-0", "hostile-loop-1"]
    assert loop["data"][1] == {"id": "hostile-loop-0", "name": "hostile-loop-0", "x": 1}
    endless = full_page(json.loads(json.dumps(page)), shape, 3, "r9")
    assert [r["name"] for r in endless["data"]] == ["hostile-r9-0", "hostile-r9-1",
                                                    "hostile-r9-2"]
    assert full_page({"total_count": 0, "data": []}, shape, 3, None) == {
        "total_count": 0, "data": []}  # no room to copy: left alone
    assert without_param("limit=3&after=r1", "after") == "limit=3"
    assert query_value("limit=3&after=r1", "after") == "r1"
