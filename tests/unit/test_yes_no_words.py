"""Yes/no words: configuration, hyper-parameters, the API and labels accept the same words."""

import pytest

from core.config import Settings
from core.errors import UserError
from core.labels import CAT_PHENOTYPE
from core.ml.hyperparameters import HyperParameters
from core.services.identify_requests import parse_flag
from core.text import NO_WORDS, YES_WORDS

WORDS = [(word, True) for word in YES_WORDS] + [(word, False) for word in NO_WORDS]


@pytest.mark.parametrize(("word", "expected"), WORDS + [("YES", True), (" Off ", False)])
def test_every_reader_takes_the_same_yes_no_words(word: str, expected: bool) -> None:
    assert Settings.from_env({"SHOW_RECENT_GALLERY": word}).show_recent_gallery is expected
    assert HyperParameters.from_mapping({"augment": word}).augment is expected
    assert parse_flag("store", word, default=not expected) is expected
    assert CAT_PHENOTYPE.trait("is_tabby").parse(word) is expected


def test_a_word_that_is_not_yes_or_no_is_refused_everywhere() -> None:
    with pytest.raises(UserError, match="SHOW_RECENT_GALLERY='maybe'"):
        Settings.from_env({"SHOW_RECENT_GALLERY": "maybe"})
    with pytest.raises(UserError, match="'maybe' is not yes or no"):
        HyperParameters.from_mapping({"augment": "maybe"})
    with pytest.raises(UserError, match="store='maybe'"):
        parse_flag("store", "maybe", default=True)
    with pytest.raises(UserError, match="'maybe'"):
        CAT_PHENOTYPE.trait("is_tabby").parse("maybe")
