"""Exit codes, the same for every command (listed in `--help` and docs/plan-and-apply.md)."""

import textwrap

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


# click indents an epilog by 2 columns; --help must fit an 80-column terminal.
HELP_WIDTH = 80 - 2


def epilog(codes: tuple[tuple[int, str], ...]) -> str:
    """The `Exit codes:` paragraph of a command's --help (\\b: click keeps the lines, so
    they are wrapped here, under their text)."""
    lines = ["\b", "Exit codes:"]
    for code, text in codes:
        lines += textwrap.wrap(text, HELP_WIDTH, initial_indent=f"  {code}  ",
                               subsequent_indent=" " * 5)
    return "\n".join(lines)
