"""Mutation testing of the money-critical modules, one module at a time, with mutmut 3.

Run through `./scripts/mutation`, which installs the dev dependencies and lowers the
priority (nice 19) first. Each module is mutated in its own scratch directory under
var/mutation/<name>/ against only the test files that cover it, within a time budget;
when the budget runs out the mutants not yet tried are reported as "not checked" and
the score covers the ones that were.

    ./scripts/mutation                  list the modules, their tests and budgets
    ./scripts/mutation money            run one module
    ./scripts/mutation money --budget 120 --children 1
    ./scripts/mutation cheap            every module whose tests need no emulator
    ./scripts/mutation money --survivors   after a run: print each survivor's diff
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutation"


@dataclass(frozen=True)
class Target:
    source: str  # path of the module, relative to the repository
    tests: tuple[str, ...]  # the test files (or node ids) that cover it
    budget: int  # seconds for the whole run, stats collection included
    functions: tuple[str, ...] = ()  # only these functions (empty: the whole module)
    slow: bool = False  # its tests start the emulator stack
    # Mutants reviewed as equivalent (no behaviour a user or caller can notice changes);
    # each is explained in docs/mutation-testing.md. Names as mutmut prints them.
    equivalent: tuple[str, ...] = field(default=())


TARGETS: dict[str, Target] = {
    "money": Target(
        "src/storeplex/money.py",
        ("tests/test_money.py", "tests/test_checkout.py"),
        budget=600,
        equivalent=(
            "storeplex.money.x_normalize_currency__mutmut_4",
            "storeplex.money.x_normalize_currency__mutmut_6",
            "storeplex.money.x_proportional_share__mutmut_15",
            "storeplex.money.x_split_platform_fee__mutmut_28",
        ),
    ),
    "states": Target(
        "src/storeplex/payments/states.py",
        ("tests/payments/test_states.py",),
        budget=300,
        equivalent=("storeplex.payments.states.x_account_status__mutmut_11",),
    ),
    "payout-schedule": Target(
        "src/storeplex/payouts/service.py",
        (
            "tests/money/test_payouts.py::test_schedule_periods_and_due_days",
            "tests/money/test_payout_schedule.py",
        ),
        budget=600,
        functions=("stripe_schedule", "is_due", "period_of"),
    ),
    "webhook-signature": Target(
        "src/storeplex/webhooks/endpoints.py",
        (
            "tests/payments/test_webhooks.py::test_bad_deliveries_are_400_and_store_nothing",
            "tests/payments/test_webhook_signature.py",
        ),
        budget=600,
        functions=("_verify",),
        equivalent=("storeplex.webhooks.endpoints.x__verify__mutmut_26",),
    ),
    "tenancy": Target(
        "src/storeplex/tenancy.py",
        ("tests/test_tenancy.py",),
        budget=600,
        equivalent=(
            "storeplex.tenancy.x_slug_from_host__mutmut_11",
            "storeplex.tenancy.x_slug_from_host__mutmut_14",
            "storeplex.tenancy.x_slug_from_host__mutmut_16",
            "storeplex.tenancy.x_slug_from_host__mutmut_23",
            "storeplex.tenancy.x_storefront_slug__mutmut_13",
        ),
    ),
    "order-transitions": Target(
        "src/storeplex/orders/service.py",
        ("tests/test_orders_admin.py",),
        budget=900,
        functions=(
            "mark_order_paid",
            "mark_order_payment_failed",
            "release_stock",
            "cancel_order",
            "set_fulfilment_status",
        ),
        equivalent=tuple(
            f"storeplex.orders.service.x_{name}"
            for name in (
                "cancel_order__mutmut_6",
                "cancel_order__mutmut_11",
                "set_fulfilment_status__mutmut_6",
                "set_fulfilment_status__mutmut_11",
                "cancel_order__mutmut_16",
                "mark_order_payment_failed__mutmut_9",
                "release_stock__mutmut_3",
                "release_stock__mutmut_32",
                "set_fulfilment_status__mutmut_44",
                "cancel_order__mutmut_17",
                "set_fulfilment_status__mutmut_67",
                "set_fulfilment_status__mutmut_68",
            )
        ),
    ),
    "refunds": Target(
        "src/storeplex/refunds/service.py",
        ("tests/money/test_refunds.py",),
        budget=1200,
        slow=True,
    ),
    "totals": Target(
        "src/storeplex/ledger.py",
        (
            "tests/money/test_ledger_rules.py",
            *(
                f"tests/money/test_daily_totals.py::{name}"
                for name in (
                    "test_totals_equal_the_rows_after_payments_refunds_and_disputes",
                    "test_a_rolled_back_change_leaves_the_totals_alone",
                    "test_concurrent_payments_of_one_store_add_up",
                    "test_the_upgrade_fills_the_totals_from_the_rows_already_there",
                )
            ),
        ),
        budget=1200,
        equivalent=tuple(
            f"storeplex.ledger.x_{name}"
            for name in (
                "_as_date__mutmut_1",
                "pending_deltas__mutmut_18",
                "recompute__mutmut_50",
                "totals_drift__mutmut_33",
                "totals_drift__mutmut_35",
                "totals_drift__mutmut_38",
                "totals_drift__mutmut_40",
                "upsert__mutmut_13",
                "upsert__mutmut_16",
                "upsert__mutmut_17",
                "rebuild_totals__mutmut_7",
                "rebuild_totals__mutmut_8",
            )
        ),
    ),
}


def module_name(source: str) -> str:
    return source.removeprefix("src/").removesuffix(".py").replace("/", ".")


def mutant_patterns(target: Target) -> list[str]:
    """mutmut's names for the mutants of the chosen functions (x_<name>__mutmut_<n>)."""
    if not target.functions:
        return []
    module = module_name(target.source)
    return [f"{module}.x_{name}__mutmut_*" for name in target.functions]


def base_config() -> dict[str, object]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(data.get("tool", {}).get("mutmut", {}))


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def prepare(name: str, target: Target) -> Path:
    """A fresh scratch directory: src and tests linked in, a pyproject for this module."""
    work = WORK / name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for linked in ("src", "tests"):
        (work / linked).symlink_to(ROOT / linked)
    config = base_config()
    config["source_paths"] = ["src"]
    config["only_mutate"] = [target.source]
    config["pytest_add_cli_args_test_selection"] = list(target.tests)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pytest_options = project["tool"]["pytest"]["ini_options"]
    lines = ["[tool.mutmut]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in config.items()]
    lines += ["", "[tool.pytest.ini_options]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in pytest_options.items()]
    (work / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return work


def run_mutmut(work: Path, target: Target, budget: int, children: int) -> tuple[int, bool]:
    """Run mutmut in `work`; stop it (as Ctrl-C would) when the budget is spent."""
    command = [
        sys.executable,
        "-m",
        "mutmut",
        "run",
        "--max-children",
        str(children),
        *mutant_patterns(target),
    ]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("STOREPLEX_TEST_DATABASE_URL", None)  # SQLite only: no shared database
    log = (work / "mutmut.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + budget
    out_of_time = False
    try:
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
        out_of_time = process.poll() is None
    finally:  # budget spent, or Ctrl-C here: stop mutmut and its workers the same way
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
    return process.returncode, out_of_time


@dataclass
class Score:
    counts: dict[str, int]
    survivors: list[str]  # survived, or no test ran it
    no_tests: list[str]
    unchecked: list[str]
    equivalent: list[str]

    @property
    def killed(self) -> int:
        return self.counts.get("killed", 0) + self.counts.get("timeout", 0)

    @property
    def tried(self) -> int:
        return self.killed + len(self.survivors)

    def percent(self, *, excluding_equivalent: bool) -> float:
        total = self.tried - (len(self.equivalent) if excluding_equivalent else 0)
        return 100.0 * self.killed / total if total else 0.0


def collect(work: Path, target: Target) -> Score:
    """Read mutmut's results for the module (its .meta file) into a score."""
    from mutmut.stats import status_by_exit_code

    meta = work / "mutants" / (target.source + ".meta")
    if not meta.exists():
        return Score({}, [], [], [], [])
    data = json.loads(meta.read_text())
    wanted = mutant_patterns(target)
    counts: dict[str, int] = {}
    survivors: list[str] = []
    no_tests: list[str] = []
    unchecked: list[str] = []
    import fnmatch

    for key, code in sorted(data["exit_code_by_key"].items()):
        if wanted and not any(fnmatch.fnmatch(key, p) for p in wanted):
            continue
        status = status_by_exit_code[code]
        counts[status] = counts.get(status, 0) + 1
        if status in ("survived", "no tests", "suspicious"):
            survivors.append(key)
        if status == "no tests":
            no_tests.append(key)
        elif status in ("not checked", "check was interrupted by user"):
            unchecked.append(key)
    equivalent = [s for s in survivors if s in target.equivalent]
    return Score(counts, survivors, no_tests, unchecked, equivalent)


def report(name: str, target: Target, score: Score, *, out_of_time: bool, seconds: float) -> None:
    print(
        f"\n== {name}: {target.source}"
        + (f" ({', '.join(target.functions)})" if target.functions else "")
    )
    print(f"   tests: {' '.join(target.tests)}")
    print(f"   {seconds:.0f} s" + (" - budget spent, stopped early" if out_of_time else ""))
    print("   " + ", ".join(f"{k}: {v}" for k, v in sorted(score.counts.items())))
    raw = score.percent(excluding_equivalent=False)
    net = score.percent(excluding_equivalent=True)
    print(
        f"   score: {score.killed}/{score.tried} killed = {raw:.1f} %;"
        f" without the {len(score.equivalent)} reviewed equivalent: {net:.1f} %"
    )
    if score.unchecked:
        print(f"   not checked (budget): {len(score.unchecked)}")
    for survivor in score.survivors:
        mark = "equivalent" if survivor in score.equivalent else "SURVIVED"
        if survivor in score.no_tests:
            mark = "NO TEST RAN IT"
        print(f"   {mark}: {survivor}")


def show_survivors(name: str, target: Target) -> None:
    """Each survivor of the last run as a diff (mutmut's own `show`, in one process)."""
    from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant

    work = WORK / name
    score = collect(work, target)
    os.chdir(work)
    for survivor in score.survivors:
        print(f"# {survivor}" + (" (equivalent)" if survivor in score.equivalent else ""))
        print(get_diff_for_mutant(survivor, path=find_mutant(survivor).path))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("module", nargs="?", help="a name from the list, 'cheap' or 'all'")
    parser.add_argument("--budget", type=int, help="seconds for the module (default: its own)")
    parser.add_argument("--children", type=int, default=2, help="parallel mutants (default 2)")
    parser.add_argument(
        "--tests", nargs="+", help="other test files for this run (e.g. to measure a baseline)"
    )
    parser.add_argument("--survivors", action="store_true", help="print the last run's survivors")
    args = parser.parse_args()

    if not args.module:
        for name, target in TARGETS.items():
            only = f" [{', '.join(target.functions)}]" if target.functions else ""
            slow = " (emulator stack)" if target.slow else ""
            print(f"{name:18} {target.source}{only}{slow}")
            print(f"{'':18} tests: {' '.join(target.tests)}; budget {target.budget} s")
        return 0
    if args.module == "all":
        names = list(TARGETS)
    elif args.module == "cheap":
        names = [n for n, t in TARGETS.items() if not t.slow]
    elif args.module in TARGETS:
        names = [args.module]
    else:
        print(f"unknown module {args.module!r}; choose one of: {', '.join(TARGETS)}, cheap, all")
        return 2

    if args.survivors:
        for name in names:
            show_survivors(name, TARGETS[name])
        return 0

    failed = False
    for name in names:
        target = TARGETS[name]
        if args.tests:
            target = replace(target, tests=tuple(args.tests))
        work = prepare(name, target)
        started = time.monotonic()
        code, out_of_time = run_mutmut(work, target, args.budget or target.budget, args.children)
        score = collect(work, target)
        if not score.counts:
            log = work / "mutmut.log"
            print(f"\n== {name}: mutmut failed (exit {code}); its output is in {log}")
            failed = True
            continue
        report(name, target, score, out_of_time=out_of_time, seconds=time.monotonic() - started)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
