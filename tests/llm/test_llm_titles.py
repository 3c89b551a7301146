import pytest

from equirec.errors import ConfigError
from equirec.llm.titles import TitleMatcher, normalise_title, parse_titles

ANSWER = """Here are some movies you might like:
1. The Matrix (1999)
2) "Heat" - a crime drama
3. Star Wars: Episode IV
4. Heat - a "masterpiece" by Mann

I hope you enjoy them!"""


def test_parse_numbered_and_bulleted_lists():
    assert parse_titles(ANSWER) == ["The Matrix (1999)", "Heat", "Star Wars: Episode IV", "Heat"]
    assert parse_titles(ANSWER, k=2) == ["The Matrix (1999)", "Heat"]
    assert parse_titles("Try these:\n- Amelie\n* Toy Story - animated") == ["Amelie", "Toy Story"]
    assert parse_titles("Fargo\nVertigo\n") == ["Fargo", "Vertigo"]  # no numbers: every line
    # a title that starts with a number is not item 2001 of a list
    assert parse_titles("2001: A Space Odyssey\nBlade Runner\n1917") == [
        "2001: A Space Odyssey",
        "Blade Runner",
        "1917",
    ]


def test_normalised_titles_ignore_case_year_articles_and_accents():
    assert normalise_title("Matrix, The (1999)") == normalise_title("the matrix") == "matrix"
    assert normalise_title("Amélie (2001)") == "amelie"
    assert normalise_title("Se7en") == "se7en"
    assert normalise_title("Die Hard") == "die hard"  # English articles only


def test_matching_exact_then_fuzzy_and_unmatched():
    catalogue = {1: "Matrix, The (1999)", 2: "Heat (1995)", 3: "Star Wars (1977)", 4: "Amélie"}
    matcher = TitleMatcher(catalogue)
    assert matcher.match_all(["The Matrix", "HEAT", "Amelie"]) == [1, 2, 4]
    assert matcher.match("Star Wars!") == 3  # punctuation
    assert matcher.match("The Matrixx") == 1  # fuzzy, above the cutoff
    assert matcher.match("Gone with the Wind") is None  # not in the catalogue
    assert TitleMatcher(catalogue, cutoff=None).match("The Matrixx") is None
    with pytest.raises(ConfigError, match="cutoff"):
        TitleMatcher(catalogue, cutoff=0)
