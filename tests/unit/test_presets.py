"""Presets and calibration on a past window (stressed VaR)."""

from __future__ import annotations

import numpy as np
import pytest

from riskengine import InputError, RiskSpec, compute_risk
from riskengine.pipeline import PRESETS
from support import stock_book


def test_stressed_var_uses_the_2008_window_with_todays_prices(real_history):
    h = real_history
    book = stock_book({"JPM": 1000.0})
    rep = compute_risk(book, h, RiskSpec.from_preset("stressed"))
    assert rep.parameters["calibration_window"] == ["2008-06-02", "2009-05-29"]
    assert rep.parameters["preset"] == "stressed"
    assert rep.as_of == "2022-12-28"
    end = h.index_of("2009-05-29")
    p = h.prices[end - 250 : end + 1, h.column["JPM"]]
    ten_day = p[10:] / p[:-10] - 1.0
    today = h.prices[-1, h.column["JPM"]]
    expected = np.quantile(-1000.0 * today * ten_day, 0.99, method="inverted_cdf")
    assert rep.measure(0.99).value_at_risk == pytest.approx(expected, rel=1e-12)
    # the stressed figure dwarfs today's, on the same book
    normal = compute_risk(book, h, RiskSpec.from_preset("basel", window=250))
    assert rep.measure(0.99).value_at_risk > 1.5 * normal.measure(0.99).value_at_risk


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_set_their_fields_and_explicit_values_win(name):
    spec = RiskSpec.from_preset(name)
    for field, value in PRESETS[name].items():
        assert getattr(spec, field) == value
    assert RiskSpec.from_preset(name, confidence=(0.95,), method="parametric").confidence == (0.95,)


def test_bad_preset_and_calibration_after_as_of(real_history):
    with pytest.raises(InputError, match="preset 'fed' is not one of: basel, frtb, stressed"):
        RiskSpec.from_preset("fed")
    with pytest.raises(InputError, match="calibration_end 2021-01-04 is after as_of 2020-12-31"):
        compute_risk(
            stock_book({"JPM": 1.0}), real_history, as_of="2020-12-31", calibration_end="2021-01-04"
        )


def test_preset_through_compute_risk_applies_its_fields(real_history):
    book = stock_book({"JPM": 10.0})
    rep = compute_risk(book, real_history, preset="basel", method="parametric")
    assert rep.parameters["horizon_days"] == 10 and rep.parameters["confidence"] == [0.99]
    assert rep.parameters["preset"] == "basel"
    same = compute_risk(book, real_history, RiskSpec.from_preset("basel", method="parametric"))
    assert same.measure(0.99).value_at_risk == rep.measure(0.99).value_at_risk
    # an explicit value wins over the preset's
    ten = compute_risk(book, real_history, preset="basel", method="parametric", horizon_days=5)
    assert ten.parameters["horizon_days"] == 5


def test_preset_as_a_plain_field_is_refused():
    with pytest.raises(InputError, match=r"use RiskSpec.from_preset\('frtb', ...\)"):
        RiskSpec(preset="frtb")
