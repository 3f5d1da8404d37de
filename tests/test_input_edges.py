"""Odd input still gets one clear message and exit status 2: files that are not regular
files, nesting beyond reason, long extends chains, huge values, unusable --out paths."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any, Iterator, get_args, get_origin

import pytest
from pydantic import BaseModel

from conftest import SCENARIOS, TINY, deep_update
from loansim.errors import ScenarioError
from loansim.policies import REGISTRY
from loansim.scenario import MAX_NESTING, Scenario, load_scenario, validate_scenario
from test_cli import run_cli
from test_scenario_errors import error_of, tiny_file, to_toml, write

BASELINE = SCENARIOS / "baseline.toml"
TINY_RUN = ["--set", "portfolio.borrowers=50", "--workers", "1", "--quiet"]
TOO_DEEP = f"tables and lists nested more than {MAX_NESTING} levels deep"


def user_error(folder: Path, *argv: str | Path) -> str:
    """Run the CLI; expect exit 2, one message without a traceback, and nothing new in `folder`."""
    before = sorted(p.name for p in folder.iterdir())
    code, stdout, stderr = run_cli(*argv)
    assert code == 2, stderr
    assert stdout == ""
    assert stderr.startswith("loansim: error: ")
    assert stderr.count("loansim: error:") == 1
    assert "Traceback" not in stderr
    assert sorted(p.name for p in folder.iterdir()) == before
    return stderr


def run_error(tmp_path: Path, scenario: Path, *extra: str) -> str:
    """`loansim run` of `scenario` with --out in `tmp_path`: the error, with nothing written."""
    return user_error(tmp_path, "run", scenario, *TINY_RUN, *extra, "--out", tmp_path / "out")


def extending(folder: Path, name: str, body: str) -> Path:
    return write(folder, name, f'extends = "{BASELINE.as_posix()}"\n{body}')


# ------------------------------------------------------------------ nesting


@pytest.mark.parametrize(
    "body",
    ["x = " + "[" * 10_000 + "]" * 10_000, "x = " + "{a = " * 2_000 + "1" + "}" * 2_000,
     "[" + ".".join(["a"] * 500) + "]\nb = 1", ".".join(["a"] * 500) + " = 1", "x = " + "[" * 30 + "]" * 30],
    ids=["array-10000", "inline-table-2000", "table-500", "dotted-key-500", "array-30"],
)
def test_nesting_too_deep_is_refused(tmp_path: Path, body: str) -> None:
    path = extending(tmp_path, "deep.toml", body + "\n")
    stderr = run_error(tmp_path, path)
    assert f"{path}: " in stderr
    assert TOO_DEEP in stderr


def test_deep_table_names_the_key(tmp_path: Path) -> None:
    path = extending(tmp_path, "deep.toml", "[" + ".".join(["a"] * 500) + "]\nb = 1\n")
    assert error_of(path) == f"{path}: {'.'.join(['a'] * (MAX_NESTING + 1))}: {TOO_DEEP}; a scenario needs at most 4"


def test_nesting_at_the_limit_is_read(tmp_path: Path) -> None:
    path = extending(tmp_path, "deep.toml", "x = " + "[" * MAX_NESTING + "]" * MAX_NESTING + "\n")
    assert "x = [[[[" in error_of(path) and "unknown key" in error_of(path)


@pytest.mark.parametrize("override", ["x=" + "[" * 10_000 + "]" * 10_000, ".".join(["a"] * 2_000) + "=1",
                                      "a=" + "{b = " * 100 + "1" + "}" * 100])
def test_deep_set_is_refused(tmp_path: Path, override: str) -> None:
    stderr = run_error(tmp_path, BASELINE, "--set", override)
    assert "--set '" in stderr and TOO_DEEP in stderr
    assert len(stderr) < 400


# ------------------------------------------------------------------ extends chains and links


def chain(folder: Path, length: int, last: str) -> Path:
    for i in range(length):
        write(folder, f"c{i}.toml", f'extends = "c{i + 1}.toml"\n' if i < length - 1 else last)
    return folder / "c0.toml"


def test_extends_chain_of_1501_files_is_read(tmp_path: Path) -> None:
    first = chain(tmp_path, 1501, f'extends = "{BASELINE.as_posix()}"\n[run]\nmonths = 7\n')
    scenario = load_scenario(first)
    assert (scenario.name, scenario.run.months) == ("c0", 7)


def test_extends_chain_of_1501_files_blames_the_far_end(tmp_path: Path) -> None:
    first = chain(tmp_path, 1501, f'extends = "{BASELINE.as_posix()}"\n[run]\nmonths = 0\n')
    assert error_of(first) == f"{tmp_path / 'c1500.toml'}: run.months = 0: must be >= 1"


def test_long_extends_cycle_is_named_in_short(tmp_path: Path) -> None:
    first = chain(tmp_path, 1501, 'extends = "c0.toml"\n')
    message = error_of(first)
    assert message.startswith(f'{tmp_path / "c1500.toml"}: extends = "c0.toml": cycle of extends (c0.toml -> c1.toml -> c2.toml -> … 1496 more …')
    assert len(message) < 300


def symlink_loop(folder: Path) -> Path:
    os.symlink("loop-b.toml", folder / "loop-a.toml")
    os.symlink("loop-a.toml", folder / "loop-b.toml")
    return folder / "loop-a.toml"


def test_symlink_loop_as_the_scenario(tmp_path: Path) -> None:
    loop = symlink_loop(tmp_path)
    stderr = run_error(tmp_path, loop)
    assert f"{loop}: is a loop of symbolic links that never reaches a file" in stderr


def test_symlink_loop_as_an_extends_target(tmp_path: Path) -> None:
    symlink_loop(tmp_path)
    child = write(tmp_path, "child.toml", 'extends = "loop-a.toml"\n')
    stderr = run_error(tmp_path, child)
    assert f'{child}: extends = "loop-a.toml": is a loop of symbolic links that never reaches a file' in stderr


# ------------------------------------------------------------------ files that are not regular files


def test_dev_null_is_not_a_regular_file(tmp_path: Path) -> None:
    stderr = run_error(tmp_path, Path(os.devnull))
    assert f"{os.devnull}: is a device, not a regular file" in stderr


def test_fifo_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    stderr = run_error(tmp_path, fifo)
    assert f"{fifo}: is a named pipe (FIFO), not a regular file" in stderr


def test_fifo_as_extends_target(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.toml")
    child = write(tmp_path, "child.toml", 'extends = "pipe.toml"\n')
    assert error_of(child) == f'{child}: extends = "pipe.toml": is a named pipe (FIFO), not a regular file'


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + to_toml(TINY).encode())
    assert load_scenario(path).portfolio.borrowers == TINY["portfolio"]["borrowers"]


def test_byte_order_mark_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'name = "x"\n[run\n')
    assert error_of(path).startswith(f"{path}: not valid TOML: ") and "line 2" in error_of(path)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    assert error_of(path) == f"{path}: not UTF-8 text (byte 0xe9 at position 11); save the file as UTF-8"


def test_unreadable_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tiny_file(tmp_path)
    read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    stderr = run_error(tmp_path, path)
    assert f"{path}: cannot be read: Permission denied" in stderr


def test_unreadable_folder_of_the_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tiny_file(tmp_path)
    stat = Path.stat

    def refuse(self: Path, **kwargs: Any) -> os.stat_result:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return stat(self, **kwargs)

    monkeypatch.setattr(Path, "stat", refuse)
    stderr = run_error(tmp_path, path)
    assert f"{path}: cannot be read: Permission denied" in stderr


# ------------------------------------------------------------------ --out


def test_out_name_too_long(tmp_path: Path) -> None:
    long = "r" * 300
    stderr = user_error(tmp_path, "run", BASELINE, *TINY_RUN, "--out", tmp_path / long / "x")
    assert f"the name {'r' * 40}… (300 characters) is 300 bytes long; a folder name may have at most" in stderr
    assert long not in stderr


def test_out_name_leaves_room_for_the_temporary_folder(tmp_path: Path) -> None:
    name = "r" * 250  # a legal folder name, but .<name>.tmp-XXXXXXXX beside it would not be
    stderr = user_error(tmp_path, "run", BASELINE, *TINY_RUN, "--out", tmp_path / name)
    assert "is 250 bytes long; a results folder name may have at most 241 bytes" in stderr


def test_out_symlink_loop(tmp_path: Path) -> None:
    loop = symlink_loop(tmp_path)
    stderr = user_error(tmp_path, "run", BASELINE, *TINY_RUN, "--out", loop / "x")
    assert f"--out {loop / 'x'}: a loop of symbolic links that never reaches a folder" in stderr


def test_unreadable_out_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    iterdir = Path.iterdir

    def refuse(self: Path) -> Iterator[Path]:
        if self == out:
            raise PermissionError(13, "Permission denied", str(self))
        return iterdir(self)

    monkeypatch.setattr(Path, "iterdir", refuse)
    code, stdout, stderr = run_cli("run", BASELINE, *TINY_RUN, "--out", out)
    assert (code, stdout) == (2, "")
    assert stderr == f"loansim: error: --out {out}: cannot use the folder: Permission denied\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and not any(os.scandir(out))


def test_unwritable_out_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loansim.report import writer

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(writer, "write_results", refuse)
    monkeypatch.setattr("loansim.report.write_results", refuse)
    code, _, stderr = run_cli("run", BASELINE, *TINY_RUN, "--out", tmp_path / "out")
    assert code == 2
    assert stderr == f"loansim: error: --out {tmp_path / 'out'}: cannot write the results folder: Permission denied\n"
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ how values are shown


def test_float_for_a_whole_number_is_shown_as_written(tmp_path: Path) -> None:
    path = extending(tmp_path, "s.toml", "[run]\nmonths = 36.0\n")
    stderr = run_error(tmp_path, path)
    assert f"{path}: run.months = 36.0: must be a whole number (write 36)" in stderr


def test_float_set_for_a_whole_number_is_shown_as_written(tmp_path: Path) -> None:
    stderr = run_error(tmp_path, BASELINE, "--set", "run.replications=2.0")
    assert "--set: run.replications = 2.0: must be a whole number (write 2)" in stderr


def test_huge_value_is_cut(tmp_path: Path) -> None:
    path = extending(tmp_path, "s.toml", 'name = "' + "n" * 100_000 + '"\n')
    stderr = run_error(tmp_path, path)
    assert f'{path}: name = "{"n" * 80}…" (100,000 characters): must be at most 120 characters long' in stderr
    assert len(stderr) < 300


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"policies": {"late_fee": {"flat_fee": [1] * 100_000}}}, "policies.late_fee.flat_fee = [1, 1, 1, "),
        ({"x" * 100_000: 1}, f"{'x' * 40}… (100,000 characters) = 1: unknown key"),
        ({"borrowers": {"shocks": {"A" * 100_000: {"annual_rate": 1}}}}, f"name '{'A' * 80}…' (100,000 characters) must be lower-case"),
        ({"portfolio": {"payment_order": ["p" * 100_000]}}, "portfolio: portfolio.payment_order must list every product once"),
        ({"description": {"k": "v" * 100_000}}, 'description = {k = "vvvv'),
    ],
    ids=["long-list", "long-key", "long-table-name", "long-list-item", "long-nested-string"],
)
def test_huge_values_and_keys_are_cut(tmp_path: Path, changes: dict[str, Any], expected: str) -> None:
    message = error_of(tiny_file(tmp_path, **changes))
    assert expected in message
    assert len(message) < 400


# ------------------------------------------------------------------ one mistake, one line, our words


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", "economy.unemployment_path = true: must be a string, a number or a list"),
        ("{a = 1}", "economy.unemployment_path = {a = 1}: must be a string, a number or a list"),
        ('[0.05, "x"]', 'economy.unemployment_path.1 = "x": must be a number'),
        ("1979-05-27", "economy.unemployment_path = 1979-05-27: must be a string, a number or a list"),
    ],
    ids=["bool", "table", "list-item", "date"],
)
def test_one_mistake_in_a_union_is_one_line(tmp_path: Path, value: str, expected: str) -> None:
    path = extending(tmp_path, "s.toml", f"[economy]\nunemployment_path = {value}\n")
    stderr = run_error(tmp_path, path)
    assert stderr == f"loansim: error: {path}: {expected}\n"


def test_empty_product_list_in_our_words(tmp_path: Path) -> None:
    path = extending(tmp_path, "s.toml", "[portfolio.segments.a]\nshare = 1.0\nproducts = []\n")
    assert f"{path}: portfolio.segments.a.products = []: must have at least 1 item" in run_error(tmp_path, path)


SAMPLE_TABLES = {"products": {"card": {"principal": 1000, "apr": 0.2, "term_months": 12}},
                 "segments": {"all": {"share": 1.0, "products": ["loan"]}},
                 "shocks": {"ill": {"annual_rate": 0.1}}, "stages": {"sms": {}}}
WRONG_VALUES = [True, "x", [], {}, 1.5, [True], "a" * 200, datetime.date(2020, 1, 1), -1, 10 ** 30, [1] * 1000]
PYDANTIC_WORDS = ("Input should", "should have", "Value error", "validation", "Field required", "[type=", "pydantic")


def keys_of(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key path of `model`, one named sample entry standing for tables of named tables."""
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key == "policies":
            continue
        yield (*prefix, key)
        annotation = field.annotation
        if get_origin(annotation) is dict:
            yield from keys_of(get_args(annotation)[1], (*prefix, key, next(iter(SAMPLE_TABLES[key]))))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from keys_of(annotation, (*prefix, key))


def every_key() -> Iterator[tuple[str, ...]]:
    yield from keys_of(Scenario)
    for name, policy in REGISTRY.items():
        yield from keys_of(policy.Params, ("policies", name))


def with_value(keys: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = deep_update(TINY, {})
    node = data
    for key in keys[:-1]:
        if key in SAMPLE_TABLES and key != "stages":
            node[key] = deep_update(SAMPLE_TABLES[key], {})
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return data


def test_no_pydantic_wording_reaches_users() -> None:
    """Every key, given each kind of wrong value, is reported in our words, one line per
    mistake (a table missing several required keys is several mistakes)."""
    for keys in every_key():
        for value in WRONG_VALUES:
            try:
                validate_scenario(with_value(keys, value))
                continue
            except ScenarioError as exc:
                lines = str(exc).splitlines()
            where = ".".join(keys), repr(value)[:30]
            for line in lines:
                assert not any(word in line for word in PYDANTIC_WORDS), (where, line)
                assert line.startswith("<scenario>: ") and len(line) < 400, (where, line)
            assert len(lines) == 1 or value == {} or all("is required but missing" in line for line in lines) \
                or len(lines) == 4 and lines[-1].endswith(": 997 more items are wrong in the same way"), (where, lines)


# ------------------------------------------------------------------ who is blamed


def test_child_replacing_a_distribution_is_blamed_for_a_missing_key(tmp_path: Path) -> None:
    write(tmp_path, "parent.toml", TINY)
    child = write(tmp_path, "child.toml", 'extends = "parent.toml"\n[borrowers.income_monthly]\ndist = "lognormal"\nmedian = 3000\n')
    assert error_of(child) == f"{child}: borrowers.income_monthly.sigma: is required but missing"


def test_parent_value_merged_under_a_child_table_is_still_the_parents(tmp_path: Path) -> None:
    parent = tiny_file(tmp_path, "parent.toml", borrowers={"income_monthly": {"dist": "lognormal", "median": 3500, "sigma": 9}})
    child = write(tmp_path, "child.toml", 'extends = "parent.toml"\n[borrowers.income_monthly]\nmedian = 3000\n')
    assert error_of(child).startswith(f"{parent}: borrowers.income_monthly.sigma = 9: must be <= 5")


# ------------------------------------------------------------------ policy settings that could never act


def test_underwriting_last_month_beyond_the_run(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, run={"months": 12}, policies={"underwriting": {"last_month": 40}})
    stderr = run_error(tmp_path, path)
    assert f"{path}: policies.underwriting.last_month = 40: must be within the run (run.months = 12)" in stderr


def test_underwriting_last_month_at_the_run_end_is_accepted(tmp_path: Path) -> None:
    assert load_scenario(tiny_file(tmp_path, run={"months": 12}, policies={"underwriting": {"last_month": 12}}))


def test_restructuring_window_that_holds_no_day(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, policies={"restructuring": {"entry_dpd": 60, "max_dpd": 30}})
    stderr = run_error(tmp_path, path)
    assert (f"{path}: policies.restructuring.entry_dpd = 60: must be below policies.restructuring.max_dpd (30)") in stderr


def test_restructuring_window_of_one_day_is_accepted(tmp_path: Path) -> None:
    scenario = load_scenario(tiny_file(tmp_path, policies={"restructuring": {"entry_dpd": 30, "max_dpd": 31}}))
    assert scenario.policies["restructuring"].max_dpd == 31
