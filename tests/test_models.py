"""The model registry: every entry runs from its own defaults and names its results."""

import numpy as np
import pytest

from nmfcore import models
from nmfcore.results import FitResult


def _rank_argument(family):
    return 3 if family.rank_keyword == "rank" else [3, 2]


@pytest.mark.parametrize("name", sorted(models.FAMILIES))
def test_every_family_fits_from_its_defaults_and_fixed(name):
    family = models.get(name)
    assert family.name == name
    X = np.random.default_rng(0).random((12, 20)) + 0.1
    # minimum volume needs one weight per layer, which a registry entry cannot know in advance
    per_layer = {"min_volume": [0.1, 0.1]} if name == "min_vol_deep_nmf" else {}
    result = family.fit(X, _rank_argument(family), random_state=0, **family.defaults, **family.fixed,
                        **per_layer)
    assert isinstance(result, FitResult)
    assert result.params["model"] == family.model
    assert models.family_of(result) is family
    assert np.all(np.isfinite(result.loss))


def test_every_app_family_is_registered():
    assert set(models.APP_FAMILIES) <= set(models.FAMILIES)
    assert len(set(models.APP_FAMILIES)) == len(models.APP_FAMILIES)


def test_defaults_and_fixed_cannot_be_changed_in_place():
    with pytest.raises(TypeError):
        models.get("nmf").defaults["max_iter"] = 1


def test_unknown_family_names_are_refused_with_the_known_names():
    with pytest.raises(ValueError, match="unknown model family 'nope'") as error:
        models.get("nope")
    for name in models.FAMILIES:
        assert name in str(error.value)
    with pytest.raises(ValueError, match="unknown model family"):
        models.get(None)


def test_each_entry_fits_with_its_familys_public_function():
    import nmfcore

    expected = {"nmf": nmfcore.nmf, "deep_nmf": nmfcore.deep_nmf, "min_vol_deep_nmf": nmfcore.deep_nmf,
                "multilayer_nmf": nmfcore.multilayer_nmf, "gnmf": nmfcore.gnmf, "pnmf": nmfcore.pnmf}
    assert {name: models.get(name).fit for name in models.FAMILIES} == expected
