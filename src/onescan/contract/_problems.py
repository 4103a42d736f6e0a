"""Collecting the problems of one validation, a bounded number per kind."""

from __future__ import annotations

from onescan.contract._errors import Problem

__all__ = ["MAX_PROBLEMS_PER_RULE", "ProblemCollector"]

#: How many problems of one kind are listed before "… and N more".
MAX_PROBLEMS_PER_RULE = 50


class ProblemCollector:
    """Collect problems per rule, capping each rule at :data:`MAX_PROBLEMS_PER_RULE` lines.

    Parameters
    ----------
    cap : int, default MAX_PROBLEMS_PER_RULE
        Problems listed per rule; the others are counted in one "… and N more" line.
    """

    def __init__(self, cap: int = MAX_PROBLEMS_PER_RULE):
        self.cap = cap
        self._by_rule: dict[str, list[Problem]] = {}
        self._extra: dict[str, tuple[int, str]] = {}

    def add(self, rule: str, problem: Problem) -> None:
        """Record ``problem`` under the kind ``rule`` (rules are listed in order of first use)."""
        lst = self._by_rule.setdefault(rule, [])
        if len(lst) < self.cap:
            lst.append(problem)
        else:
            n, f = self._extra.get(rule, (0, problem.file))
            self._extra[rule] = (n + 1, f)

    def __bool__(self) -> bool:
        return bool(self._by_rule)

    def to_list(self) -> list[Problem]:
        """Every problem listed, rule by rule, each rule followed by its "… and N more" line."""
        out: list[Problem] = []
        for rule, lst in self._by_rule.items():
            out.extend(lst)
            if rule in self._extra:
                n, f = self._extra[rule]
                out.append(Problem(f, f"… and {n} more problem{'s' if n != 1 else ''} of the same kind as "
                                      "the line above", column=lst[-1].column))
        return out
