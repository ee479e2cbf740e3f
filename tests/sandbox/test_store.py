"""The sandbox core: the SQLite store and the `Sandbox` (clock, randomness, accounts)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconcile.sandbox.core import DEFAULT_CREDENTIALS, Sandbox, public
from reconcile.sandbox.store import DuplicateName, Store

P, A, K = "twilio", "AC1", "room"


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store()
    yield s
    s.close()


def names(store: Store, **kwargs: object) -> list[str | None]:
    return [r.name for r in store.list(P, A, K, **kwargs)]  # type: ignore[arg-type]


# -- store --------------------------------------------------------------------------------

def test_insert_get_and_find_by_live_name(store: Store) -> None:
    record = store.insert(P, A, K, "RM1", "a", {"sid": "RM1", "unique_name": "a"})
    assert record.seq > 0 and record.live and record.data["sid"] == "RM1"
    assert store.get(P, A, K, "RM1") == record
    assert store.find_live(P, A, K, "a") == record
    assert store.get(P, A, K, "RM2") is None
    assert store.get(P, "AC2", K, "RM1") is None  # accounts are separate
    assert store.get("telnyx", A, K, "RM1") is None  # and providers


def test_live_names_are_unique_but_dead_ones_are_not(store: Store) -> None:
    store.insert(P, A, K, "RM1", "a", {})
    with pytest.raises(DuplicateName):
        store.insert(P, A, K, "RM2", "a", {})
    store.insert(P, A, K, "RM3", "a", {}, live=False)
    store.insert(P, "AC2", K, "RM4", "a", {})   # another account
    store.insert(P, A, "user", "RM5", "a", {})  # another kind
    store.insert(P, A, K, "RM6", None, {})      # unnamed rooms never clash
    store.insert(P, A, K, "RM7", None, {})
    assert names(store, live=None) == ["a", "a", None, None]
    with pytest.raises(DuplicateName):
        store.insert(P, A, K, "RM1", "b", {})   # nor may ids repeat


def test_update_changes_data_name_and_liveness(store: Store) -> None:
    record = store.insert(P, A, K, "RM1", "a", {"v": 1})
    other = store.insert(P, A, K, "RM2", "b", {})
    updated = store.update(record, {"v": 2})
    assert updated.data == {"v": 2} and updated.name == "a"
    assert store.get(P, A, K, "RM1") == updated
    with pytest.raises(DuplicateName):
        store.update(updated, {"v": 3}, name="b")
    assert store.get(P, A, K, "RM1") == updated  # unchanged by the failed rename
    ended = store.update(other, {}, live=False)
    assert not ended.live and store.find_live(P, A, K, "b") is None
    renamed = store.update(updated, {"v": 3}, name="b")
    assert store.find_live(P, A, K, "b") == renamed
    assert store.update(renamed, {}, name=None).name is None


def test_delete(store: Store) -> None:
    record = store.insert(P, A, K, "RM1", "a", {})
    store.delete(record)
    assert store.get(P, A, K, "RM1") is None
    store.insert(P, A, K, "RM2", "a", {})  # the name is free again


def test_list_filters_orders_and_pages(store: Store) -> None:
    for index in range(6):
        store.insert(P, A, K, f"RM{index}", f"r{index}", {}, live=index % 3 != 0)
    assert names(store) == ["r1", "r2", "r4", "r5"]
    assert names(store, live=False) == ["r0", "r3"]
    assert names(store, live=None) == [f"r{i}" for i in range(6)]
    assert names(store, offset=1, limit=2) == ["r2", "r4"]
    second = store.list(P, A, K)[1]
    assert names(store, after_seq=second.seq) == ["r4", "r5"]
    assert names(store, name="r4") == ["r4"]
    assert names(store, name="r0") == []  # not live
    assert store.count(P, A, K) == 4
    assert store.count(P, A, K, live=None) == 6
    assert store.count(P, A, K, live=False) == 2
    assert [r.name for r in store.list(P, A, K)] == names(store)


def test_insert_many_is_all_or_nothing(store: Store) -> None:
    store.insert_many([(P, A, K, f"RM{i}", f"r{i}", {"i": i}) for i in range(1000)])
    assert store.count(P, A, K) == 1000
    assert store.get(P, A, K, "RM999").data == {"i": 999}  # type: ignore[union-attr]
    with pytest.raises(DuplicateName):
        store.insert_many([(P, A, K, "RMx", "x", {}), (P, A, K, "RMy", "r5", {})])
    assert store.get(P, A, K, "RMx") is None
    assert store.count(P, A, K) == 1000


def test_transactions_roll_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.insert(P, A, K, "RM1", "a", {})
        raise RuntimeError("boom")
    assert store.get(P, A, K, "RM1") is None


def test_meta_and_reset(store: Store) -> None:
    assert store.get_meta("k") is None and store.get_meta("k", "d") == "d"
    store.set_meta("k", "1")
    store.set_meta("k", "2")
    assert store.get_meta("k") == "2"
    store.insert(P, A, K, "RM1", "a", {})
    store.reset()
    assert store.get_meta("k") is None and store.count(P, A, K, live=None) == 0


def test_in_memory_stores_are_separate() -> None:
    first, second = Store(), Store()
    first.insert(P, A, K, "RM1", "a", {})
    assert second.get(P, A, K, "RM1") is None
    first.close()
    second.close()


def test_a_file_store_is_shared_and_survives(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    first, second = Store(path), Store(path)
    first.insert(P, A, K, "RM1", "a", {"x": [1, "two"]})
    assert second.get(P, A, K, "RM1").data == {"x": [1, "two"]}  # type: ignore[union-attr]
    with pytest.raises(DuplicateName):  # the unique index holds across connections
        second.insert(P, A, K, "RM2", "a", {})
    first.close()
    second.close()
    third = Store(path)
    assert third.find_live(P, A, K, "a") is not None
    third.close()


@pytest.mark.parametrize("on_disk", [False, True])
def test_concurrent_same_name_inserts_succeed_exactly_once(tmp_path: Path, on_disk: bool
                                                           ) -> None:
    store = Store(str(tmp_path / "c.db") if on_disk else None)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def create(index: int) -> None:
        barrier.wait()
        try:
            store.insert(P, A, K, f"RM{index}", "same", {})
            outcomes.append("created")
        except DuplicateName:
            outcomes.append("duplicate")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["duplicate"] * 7
    assert store.count(P, A, K) == 1
    store.close()


@pytest.mark.parametrize("on_disk", [False, True])
def test_concurrent_writers_and_readers_do_not_fail(tmp_path: Path, on_disk: bool) -> None:
    store = Store(str(tmp_path / "w.db") if on_disk else None)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for index in range(100):
                record = store.insert(P, A, K, f"RM{worker}-{index}", f"n{worker}-{index}", {})
                store.update(record, {"i": index})
                store.list(P, A, K, limit=20)
                store.find_live(P, A, K, f"n{worker}-{index}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count(P, A, K) == 400
    store.close()


# -- sandbox --------------------------------------------------------------------------------

def test_the_clock_is_wall_time_plus_an_offset_kept_in_the_store(tmp_path: Path) -> None:
    path = str(tmp_path / "clock.db")
    first = Sandbox(path)
    before = first.clock.now()
    after = first.clock.advance(600)
    assert 600 <= after - before < 601
    second = Sandbox(path)  # another process on the same file sees the same time
    assert second.clock.offset == 600
    first.reset()
    assert second.clock.offset == 0
    first.close()
    second.close()


def test_randomness_repeats_for_a_seed() -> None:
    def draws(seed: int) -> tuple[str, str, str, float]:
        sandbox = Sandbox(seed=seed)
        values = (sandbox.random_hex(32), sandbox.random_uuid(), sandbox.random_chars(10),
                  sandbox.random())
        sandbox.close()
        return values

    assert draws(1) == draws(1) != draws(2)
    hex_, uuid_, chars, _ = draws(1)
    assert len(hex_) == 32 and set(hex_) <= set("0123456789abcdef")
    assert len(uuid_) == 36 and uuid_[14] == "4"
    assert len(chars) == 10 and chars.isalnum()


def test_reset_restarts_the_random_sequence(sandbox: Sandbox) -> None:
    first = sandbox.random_uuid()
    sandbox.reset()
    assert sandbox.random_uuid() == first


def test_authentication_with_defaults_wildcards_and_registered_accounts() -> None:
    sandbox = Sandbox()
    principal, secret = DEFAULT_CREDENTIALS["twilio"]
    assert sandbox.authenticate("twilio", principal, secret)
    assert not sandbox.authenticate("twilio", principal, "wrong")
    assert not sandbox.authenticate("twilio", "AC2", secret)
    assert not sandbox.authenticate("twilio", None, secret)
    assert not sandbox.authenticate("twilio", principal, None)
    # "*" accepts any principal with the right secret.
    assert sandbox.authenticate("signalwire", "any-project", "PTsandbox")
    assert not sandbox.authenticate("signalwire", "any-project", "nope")
    sandbox.register("twilio", "AC2", "s2")
    assert sandbox.authenticate("twilio", "AC2", "s2")
    assert sandbox.authenticate("twilio", principal, secret)  # defaults stay
    sandbox.register("newprovider", "p", "s")
    assert sandbox.authenticate("newprovider", "p", "s")
    assert not sandbox.authenticate("unknown", "p", "s")
    sandbox.close()


def test_counters(sandbox: Sandbox) -> None:
    for method in ("GET", "GET", "POST"):
        sandbox.count_request("twilio", method)
    sandbox.count_request("telnyx", "DELETE")
    assert sandbox.counter_table() == {"telnyx": {"DELETE": 1},
                                       "twilio": {"GET": 2, "POST": 1}}
    sandbox.reset()
    assert sandbox.counter_table() == {}


def test_find_by_id_then_live_name(sandbox: Sandbox) -> None:
    live = sandbox.store.insert(P, A, K, "RM1", "a", {})
    dead = sandbox.store.insert(P, A, K, "RM2", "b", {}, live=False)
    assert sandbox.find(P, A, K, "RM1") == live
    assert sandbox.find(P, A, K, "a") == live
    assert sandbox.find(P, A, K, "RM2") == dead
    assert sandbox.find(P, A, K, "b") is None


def test_set_participants_keeps_the_session_bookkeeping(sandbox: Sandbox) -> None:
    record = sandbox.store.insert(P, A, K, "RM1", "a", {"sid": "RM1"})
    joined = sandbox.set_participants(record, add=["p1", "p2", "p1"])
    data = joined.data
    assert data["_participants"] == ["p1", "p2"] and data["_ever_joined"] is True
    session, started = data["_session_id"], data["_session_started_at"]
    more = sandbox.set_participants(joined, add=["p3"], remove=["p1"])
    assert more.data["_participants"] == ["p2", "p3"]
    assert more.data["_session_id"] == session  # same session while anyone stays
    sandbox.clock.advance(30)
    empty = sandbox.set_participants(more, remove=["p2", "p3"])
    assert empty.data["_participants"] == [] and empty.data["_ever_joined"] is True
    assert "_session_id" not in empty.data and "_session_started_at" not in empty.data
    assert empty.data["_last_left_at"] >= started + 30
    again = sandbox.set_participants(empty, add=["p4"])
    assert again.data["_session_id"] != session
    assert sandbox.store.get(P, A, K, "RM1") == again


def test_public_drops_internal_keys() -> None:
    assert public({"sid": "RM1", "_participants": [], "status": "x"}) == {
        "sid": "RM1", "status": "x"}


def test_a_database_reopened_continues_with_new_ids(tmp_path: Path) -> None:
    """`--sandbox` opens the same file in every run: ids must not repeat across runs."""
    path = str(tmp_path / "sandbox.db")
    first = Sandbox(path, seed=7)
    ids_first = [first.random_hex(12) for _ in range(3)]
    first.close()
    second = Sandbox(path, seed=7)
    ids_second = [second.random_hex(12) for _ in range(3)]
    second.close()
    assert set(ids_first).isdisjoint(ids_second)
    fresh = Sandbox(str(tmp_path / "other.db"), seed=7)
    assert [fresh.random_hex(12) for _ in range(3)] == ids_first  # a new file repeats
    fresh.close()


def test_departures_are_remembered(sandbox: Sandbox) -> None:
    record = sandbox.store.insert("twilio", "AC1", "rooms", "RM1", "r", {})
    record = sandbox.set_participants(record, add=["alice", "bob"])
    record = sandbox.set_participants(record, remove=["alice", "carol"])
    assert record.data["_participants"] == ["bob"]
    assert record.data["_disconnected"] == ["alice"]
