"""Exit codes, the same for every command (listed in `--help` and docs/plan-and-apply.md)."""

OK = 0  # success; for `plan --detailed-exitcode`: no changes
ERROR = 1  # invalid input or usage, a failed or skipped change, or an internal error
CHANGES = 2  # `plan --detailed-exitcode`: the plan has changes
BLOCKED = 3  # a safety rail blocked the apply (or, for plan, would block it)

PLAN = (
    (OK, "the plan was made (with --detailed-exitcode: it has no changes)"),
    (ERROR, "an error: an invalid file or option, a provider that could not be read"),
    (CHANGES, "with --detailed-exitcode: the plan has changes"),
    (BLOCKED, "with --detailed-exitcode: a safety rail would block apply"),
)
APPLY = (
    (OK, "every change applied: the providers match the file"),
    (ERROR, "an error, a failed or skipped change, or not the reviewed plan"),
    (BLOCKED, "a safety rail blocked the apply: nothing was changed"),
)


def epilog(codes: tuple[tuple[int, str], ...]) -> str:
    """The `Exit codes:` paragraph of a command's --help (\\b: click keeps the lines)."""
    return "\b\nExit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in codes)
