"""python -m jobs.litter as a breeder runs it: tables by sex, JSON, and bad input in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def litter(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jobs.litter", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tortie_by_black_prints_both_sexes_and_the_notes() -> None:
    result = litter(
        "--sire", "black", "--sire-genotype", "BB DD CC",
        "--dam", "tortie", "--dam-genotype", "BB DD CC", "--ems",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    out = result.stdout
    males = out.split("Male kittens:")[1].split("Female kittens:")[0]
    assert "50.00%  black self  [n]" in males and "50.00%  red self  [d]" in males
    assert "black tortie  [f]" in out.split("Female kittens:")[1]
    assert "XXY" in out and "equally likely" in out
    assert "Not predicted: Dm" in out and "silver inhibitor" in out


def test_json_answers_the_same_numbers_as_the_service() -> None:
    result = litter("--sire", "black tabby", "--dam", "blue, carries chocolate", "--json")

    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    for sex in ("male", "female"):
        assert sum(k["probability"] for k in plan["kittens"][sex]) == pytest.approx(1)
    assert plan["dam"]["genotypes"]["B"] == {"Bb": 1.0}


def test_lab_results_and_allele_frequencies_are_read() -> None:
    result = litter(
        "--sire", "black", "--sire-lab", "dilute=carrier",
        "--dam", "blue", "--frequency", "B:B=1", "--frequency", "C:C=1", "--json",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert {k["name"]: k["probability"] for k in plan["kittens"]["male"]} == {
        "black self": pytest.approx(0.5),
        "blue self": pytest.approx(0.5),
    }
    assert "population allele frequencies" in plan["assumption"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sire", "black", "--sire-genotype", "X^O X^o", "--dam", "black"], "a male has one X"),
        (["--sire", "purple", "--dam", "black"], "'purple', which is not a coat word"),
        (["--sire", "black"], "No dam was given"),
        (["--sire", "blue", "--sire-lab", "dilute", "--dam", "black"], "has no '='"),
        (["--sire", "blue", "--dam", "black", "--frequency", "d=0.3"], "not LOCUS:ALLELE=NUMBER"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(args: list[str], message: str) -> None:
    result = litter(*args)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""
