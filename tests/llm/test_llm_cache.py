from equirec.llm.cache import ResponseCache
from equirec.llm.providers import CallableProvider


def test_answers_are_asked_once_and_survive_reopening(tmp_path):
    calls = []

    def answer(prompt):
        calls.append(prompt)
        return prompt.upper()

    provider = CallableProvider(answer, "python:upper")
    path = tmp_path / "cache.sqlite"
    cache = ResponseCache(path)
    assert cache.ask(provider, "hi") == "HI" and cache.ask(provider, "hi") == "HI"
    assert (cache.hits, cache.misses, calls) == (1, 1, ["hi"])
    cache.close()
    again = ResponseCache(path)
    assert again.ask(provider, "hi") == "HI" and calls == ["hi"]  # read back, not asked
    other = CallableProvider(answer, "python:other")  # another provider's answers are its own
    assert again.ask(other, "hi") == "HI" and calls == ["hi", "hi"]
    assert len(again) == 2
