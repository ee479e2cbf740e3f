"""Exit codes, the same for every command (listed in `--help` and the README)."""

OK = 0  # success; for `plan --detailed-exitcode`: no changes
ERROR = 1  # invalid input, a failed change, or an internal error
CHANGES = 2  # `plan --detailed-exitcode`: the plan has changes
BLOCKED = 3  # a safety rail blocked the plan or apply
