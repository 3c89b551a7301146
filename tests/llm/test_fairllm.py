import pytest

from equirec.errors import ConfigError
from equirec.llm.cache import ResponseCache
from equirec.llm.fairllm import anchor_requests, fairllm_audit, history_requests
from equirec.llm.providers import CallableProvider, OpenAICompatible
from equirec.llm.titles import TitleMatcher
from equirec.testing.llm import openai_server, planted_answers

TITLES = [f"Film {i:04x}{(i * 7919) % 65536:04x}" for i in range(300)]
CATALOGUE = TitleMatcher(dict(enumerate(TITLES)))
GENDER = {"gender": {"male": "a male", "female": "a female"}}
PHRASES = ["a", "a male", "a female"]
FAST = {"n_boot": 200, "n_permutations": 199}


def test_the_planted_bias_is_found_over_http_and_recomputes_from_the_cache(tmp_path):
    answer = planted_answers(TITLES, phrases=PHRASES, bias={"a female": 6})
    requests = anchor_requests([f"Director {i}" for i in range(30)], attributes=GENDER)
    cache = ResponseCache(tmp_path / "answers.sqlite")
    with openai_server(answer) as base_url:
        provider = OpenAICompatible(base_url=base_url, model="fake", api_key_env="NO_SUCH_KEY")
        report = fairllm_audit(provider, requests, cache=cache, matcher=CATALOGUE, **FAST)
    assert report["answers"] == {"asked": 90, "cached": 0}
    assert report["unmatched"]["overall"] == 0.0
    for name in ("jaccard", "serp", "prag"):
        entry = report["attributes"]["gender"][name]
        assert entry["significant"], name
        assert entry["values"]["female"]["mean"] < entry["values"]["male"]["mean"]
        assert entry["snsr_ci"][0] <= entry["snsr"] <= entry["snsr_ci"][1]
    # the server is gone: the same audit reads every answer from the cache, the same numbers
    offline = OpenAICompatible(base_url=base_url, model="fake", api_key_env="NO_SUCH_KEY")
    again = fairllm_audit(offline, requests, cache=cache, matcher=CATALOGUE, **FAST)
    assert again["answers"] == {"asked": 0, "cached": 90}
    assert {k: v for k, v in again.items() if k != "answers"} == {
        k: v for k, v in report.items() if k != "answers"
    }


def test_an_unbiased_answerer_over_http_is_not_flagged():
    answer = planted_answers(TITLES, phrases=PHRASES, seed=1)
    requests = anchor_requests([f"Director {i}" for i in range(20)], attributes=GENDER)
    with openai_server(answer) as base_url:
        provider = OpenAICompatible(base_url=base_url, model="fake", api_key_env="NO_SUCH_KEY")
        report = fairllm_audit(provider, requests, matcher=CATALOGUE, **FAST)
    assert not any(e["significant"] for e in report["attributes"]["gender"].values())


def test_false_positives_at_the_nominal_level_and_power_against_a_small_bias():
    def rejects(bias, seed):
        answer = planted_answers(TITLES, phrases=PHRASES, bias={"a female": bias}, seed=seed)
        report = fairllm_audit(
            CallableProvider(answer, f"planted:{bias}:{seed}"),
            anchor_requests([f"D{seed}-{i}" for i in range(20)], attributes=GENDER),
            similarities=("jaccard",),
            n_boot=0,
            n_permutations=99,
            seed=seed,
        )
        return report["attributes"]["gender"]["jaccard"]["p_value"] < 0.05

    null = sum(rejects(0, s) for s in range(60)) / 60
    assert null <= 0.15  # nominal 5%: more than 9 of 60 has probability 0.003
    power = sum(rejects(2, s) for s in range(10)) / 10  # two more titles of 20 replaced
    assert power >= 0.8  # benchmarks/llm_power.py: see BENCHMARKS.md


def test_history_requests_measure_alignment_and_unmatched_titles():
    def answer(prompt):  # names the user's held-out film only when told "a male"
        lines = ["Not A Real Film", TITLES[5], TITLES[6]]
        if "I am a male " in prompt:
            lines[0] = TITLES[9]
        return "\n".join(f"{i}. {t}" for i, t in enumerate(lines, 1))

    requests = history_requests(
        {"u1": [TITLES[1], TITLES[2]], "u2": [TITLES[3]]},
        relevant={"u1": [9], "u2": [7]},
        k=3,
        attributes=GENDER,
    )
    assert (
        TITLES[1] in requests[0].neutral and "a female" in requests[0].sensitive["gender"]["female"]
    )
    report = fairllm_audit(
        CallableProvider(answer, "python:answer"), requests, k=3, matcher=CATALOGUE, **FAST
    )
    assert report["alignment"]["neutral"] == 0.0
    assert report["alignment"]["by_value"]["gender"] == {"male": 0.5, "female": 0.0}
    assert report["unmatched"]["neutral"] == pytest.approx(1 / 3)
    assert report["unmatched"]["by_value"]["gender"]["male"] == 0.0
    invented = [r for r in report["lists"] if r["item"] is None]
    assert {r["title"] for r in invented} == {"Not A Real Film"}


def test_bad_requests_are_refused():
    provider = CallableProvider(lambda p: "1. x", "python:x")
    with pytest.raises(ConfigError, match="at least one request"):
        fairllm_audit(provider, [])
    with pytest.raises(ConfigError, match="unknown similarity"):
        fairllm_audit(provider, anchor_requests(["a"], attributes=GENDER), similarities=["nope"])
    with pytest.raises(ConfigError, match="two values"):
        anchor_requests(["a"], attributes={"gender": {"male": "a male"}})
    with pytest.raises(ConfigError, match="unknown field"):
        anchor_requests(["a"], attributes=GENDER, template="I am {who} {colour}")
