"""The Markdown comment on plans built in memory: its size limit at 5,000 changes, folding,
escaping, and masking; and the masking helper every format shares."""

from __future__ import annotations

import re

from reconcile.engine.apply import Outcome
from reconcile.engine.plan import ABSENT, AccountPlan, Action, Change, FieldChange, Plan
from reconcile.engine.rails import Block
from reconcile.outputs.markdown import CELL, FOLD_ROWS, LIMIT, marker, render
from reconcile.outputs.mask import MASK, Masker
from reconcile.outputs.text import render_plan

ROW = re.compile(r"^\|.*\|$")


def create(key: str, provider: str = "telnyx", **fields: object) -> Change:
    return Change(provider, provider, "rooms", key, Action.CREATE, "not found",
                  fields=tuple(FieldChange(name, ABSENT, value)
                               for name, value in {"unique_name": key, **fields}.items()))


def creates(count: int, provider: str = "telnyx") -> list[Change]:
    return [create(f"room-{i:05d}", provider, max_participants=10 + i % 40,
                   webhook_event_url=f"https://hooks.example.com/video/{i}")
            for i in range(count)]


def comment(plan: Plan, **options: object) -> str:
    return render(plan, config="rooms/prod.yaml", checksum="0" * 64, mask=Masker(),
                  **options)  # type: ignore[arg-type]


def test_5000_changes_stay_under_the_limit_with_a_clear_note() -> None:
    plan = Plan([AccountPlan("telnyx", "telnyx", creates(3000), unmanaged=7),
                 AccountPlan("kaleyra", "kaleyra", creates(2000, "kaleyra"))])
    text = comment(plan)
    assert len(text) < LIMIT
    assert text.splitlines()[0] == "<!-- reconcile-plan:rooms/prod.yaml -->"
    assert "**Plan: 5000 to create, 0 to update, 0 to replace, 0 to delete (7 unmanaged" \
           " rooms left alone).**" in text
    note = re.search(r"\*\*Truncated:\*\* ([\d,]+) of 5,000 changes are not shown, as a"
                     r" comment holds at most 65,000 characters\.", text)
    assert note is not None
    shown = text.count("<br><sub>not found</sub>")
    assert shown + int(note.group(1).replace(",", "")) == 5000
    assert shown > 100  # the budget is spent on changes, not lost
    assert text.count("<details>") == text.count("</details>") == 1  # the cut closes it
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert all(ROW.match(line) and line.count("|") == 6 for line in rows)  # 5 columns
    assert "plan checksum <code>" in text.splitlines()[-1]  # the foot survives the cut


def test_a_small_plan_is_whole_and_large_accounts_fold() -> None:
    small = AccountPlan("twilio", "twilio", creates(1, "twilio"))
    large = AccountPlan("telnyx", "telnyx", creates(FOLD_ROWS))  # 3 rows each
    text = comment(Plan([small, large]))
    assert "Truncated" not in text
    assert "#### <code>twilio</code> (twilio): 1 change\n" in text
    assert f"<details><summary><code>telnyx</code> (telnyx): {FOLD_ROWS} changes</summary>" \
        in text
    assert text.count("<br><sub>not found</sub>") == FOLD_ROWS + 1


def test_cells_are_escaped_cut_and_kept_on_one_line() -> None:
    change = create("a|b", description="<script>x</script>\n`tick` | pipe",
                    long="y" * 500)
    text = comment(Plan([AccountPlan("signalwire", "signalwire", [change])]))
    assert "<script>" not in text
    # JSON keeps the newline as \n; HTML and the table's pipes are escaped.
    assert '"&lt;script&gt;x&lt;/script&gt;\\n`tick` &#124; pipe"' in text
    assert "<code>a&#124;b</code>" in text
    row = next(line for line in text.splitlines() if "long" in line)
    assert "y" * (CELL - 3) + "…" in row and "y" * CELL not in row
    assert marker("odd-->name.yaml") == "<!-- reconcile-plan:odd--&gt;name.yaml -->"


def test_errors_blocks_and_outcomes() -> None:
    failed = comment(None, errors=["telnyx: reading the live rooms failed: 401"])  # type: ignore[arg-type]
    assert "> **The plan failed:**\n> - telnyx: reading the live rooms failed: 401" in failed
    plan = Plan([AccountPlan("telnyx", "telnyx", creates(2))])
    blocked = comment(plan, blocks=[Block("telnyx", "telnyx: too many deletes")])
    assert "> [!CAUTION]\n> **apply will be blocked:**\n> - telnyx: too many deletes" in blocked
    first, second = plan.accounts[0].changes
    applied = comment(plan, outcomes=[Outcome(first, "applied"),
                                      Outcome(second, "failed", "422: bad | value")])
    assert "**Apply: 1 applied, 1 failed, 0 skipped.**" in applied
    assert "| <code>telnyx.rooms[room-00001]</code> | failed | 422: bad &#124; value |" \
        in applied


def test_one_masker_for_every_format() -> None:
    participants = [{"user_id": "patient-42", "is_admin": False}]
    change = Change("clinic", "kaleyra", "rooms", "consult", Action.UPDATE, "drift",
                    fields=(FieldChange("participants", [], participants),
                            FieldChange("duration", 60, 120)))
    plan = Plan([AccountPlan("clinic", "kaleyra", [change])])
    for render_one in (lambda m: render_plan(plan, m),
                       lambda m: render(plan, config="r.yaml", checksum=None, mask=m)):
        masked = render_one(Masker())
        assert "patient-42" not in masked and MASK in masked and "120" in masked
        shown = render_one(Masker.of(show_sensitive=True))
        assert "patient-42" in shown and MASK not in shown
    assert Masker().sensitive_paths(change) == ["participants"]
    assert Masker().url("https://x.example/join/abc") == MASK


def test_credentials_are_scrubbed_and_short_ones_ignored() -> None:
    change = create("r", status_callback="https://hooks.example.com/?token=tok-S3CRET-99")
    plan = Plan([AccountPlan("twilio", "twilio", [change])])
    mask = Masker.of(secrets=["tok-S3CRET-99", "*", "short"])
    assert "tok-S3CRET-99" in mask.secrets and not {"*", "short"} & set(mask.secrets)
    text = render_plan(plan, mask)
    assert "S3CRET" not in text and "token=***" in text


def test_a_limit_too_small_for_any_table_keeps_the_summary_the_note_and_the_foot() -> None:
    plan = Plan([AccountPlan("telnyx", "telnyx", creates(3))])
    text = comment(plan, limit=0)
    assert "| room |" not in text and "<code>telnyx</code> (telnyx)" not in text
    assert "**Truncated:** 3 of 3 changes are not shown" in text
    assert "**Plan: 3 to create" in text and "plan checksum <code>" in text


def test_a_change_too_big_for_the_comment_is_left_out_whole() -> None:
    many = {f"field_{i:04d}": "x" * 100 for i in range(400)}  # over 40,000 characters
    plan = Plan([AccountPlan("telnyx", "telnyx", [create("huge", **many), create("small")])])
    text = comment(plan, limit=20_000)
    assert len(text) < 20_000
    assert "huge" not in text and "small" not in text  # nothing after a cut is shown
    assert "**Truncated:** 2 of 2 changes are not shown" in text
    assert "<details>" not in text  # no section is opened for nothing


def test_past_fifty_failures_the_rest_are_counted_not_listed() -> None:
    changes = creates(60)
    plan = Plan([AccountPlan("telnyx", "telnyx", changes)])
    outcomes = [Outcome(change, "failed", "503") for change in changes]
    text = comment(plan, outcomes=outcomes)
    assert "**Apply: 0 applied, 60 failed, 0 skipped.**" in text
    assert text.count("| failed | 503 |") == 50
    assert "| … | 10 more | see the job's log |" in text
