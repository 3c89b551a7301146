import json

import pytest

from equirec.cli import main
from equirec.data import load_dataset
from equirec.errors import ConfigError
from equirec.llm.providers import CallableProvider
from equirec.testing.llm import planted_answers
from equirec.workflows.llm_audit import attributes_from_specs, llm_audit_run

GENDER = {"gender": {"male": "a male", "female": "a female"}}
FAKE = """
from equirec.data import load_dataset
from equirec.testing.llm import planted_answers

CALLS = []
_TITLES = list(load_dataset("movielens-small").item_attributes["title"].dropna())[:400]
_ANSWER = planted_answers(_TITLES, phrases=["a", "a male", "a female"], k=5)


def answer(prompt):
    CALLS.append(prompt)
    return _ANSWER(prompt)
"""


@pytest.fixture(scope="module")
def small():
    return load_dataset("movielens-small")


def test_anchor_and_history_audits_of_a_dataset(small, tmp_path, assert_well_formed):
    titles = list(small.item_attributes["title"].dropna())
    answer = planted_answers(titles[:400], phrases=["a", "a male", "a female"], k=10)
    provider = CallableProvider(answer, "python:planted")
    report = llm_audit_run(
        provider,
        small,
        out=tmp_path / "a",
        n_requests=8,
        k=10,
        attributes=GENDER,
        n_boot=20,
        n_permutations=19,
    )
    assert report["params"]["requests"] == 8 and report["unmatched"]["overall"] == 0.0
    popular = small.interactions["item"].value_counts().index[0]
    assert str(small.item_attributes["title"][popular]) in report["lists"][0]["request"]
    saved = json.loads((tmp_path / "a" / "results" / "llm_audit.json").read_text())
    assert saved["attributes"] == report["attributes"] and "lists" not in saved
    page = (tmp_path / "a" / "results" / "llm_audit.html").read_text()
    assert_well_formed(page)
    assert "SNSR" in page and "<svg" in page
    assert report["warnings"] and "permutations cannot make" in report["warnings"][0]
    assert (tmp_path / "a" / "answers.sqlite").is_file()
    history = llm_audit_run(
        provider,
        small,
        out=None,
        requests="history",
        n_requests=6,
        k=10,
        attributes=GENDER,
        n_boot=20,
        n_permutations=19,
    )
    assert history["alignment"]["users"] == 6
    with pytest.raises(ConfigError, match="titles"):
        llm_audit_run(provider, load_dataset("synthetic"), out=None, n_requests=2)


def test_attribute_specs():
    assert attributes_from_specs(["gender=m:a man,f:a woman"]) == {
        "gender": {"m": "a man", "f": "a woman"}
    }
    assert set(attributes_from_specs([])) == {"gender", "age", "occupation"}
    assert attributes_from_specs(["age"])["age"]["old"] == "an old"
    with pytest.raises(ConfigError, match="value:phrase"):
        attributes_from_specs(["gender=male"])
    with pytest.raises(ConfigError, match="no default"):
        attributes_from_specs(["religion"])


def test_command_line_audit_caches_every_answer(tmp_path, monkeypatch, capsys):
    (tmp_path / "fakellm.py").write_text(FAKE)
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["llm-audit", "--provider", "python", "--callable", "fakellm:answer"]
    argv += ["--attribute", "gender=male:a male,female:a female", "--n-requests", "4"]
    argv += ["--k", "5", "--n-boot", "20", "--permutations", "19", "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    assert "SNSR" in capsys.readouterr().out
    import fakellm

    asked = len(fakellm.CALLS)
    assert asked == 4 * 3
    assert main(argv) == 2  # the results exist: not replaced unasked
    assert "exist" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert len(fakellm.CALLS) == asked  # every answer read from the cache
    assert main(["llm-audit", "--provider", "openai", "--out", str(tmp_path / "x")]) == 2
    assert "--base-url and --llm-model" in capsys.readouterr().err
