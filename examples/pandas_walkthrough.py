"""riskengine from pandas: prices and a book as DataFrames in, VaR, ES, contributions, stress
and a backtest as DataFrames out. Run from the repository root:

    .venv/bin/python examples/pandas_walkthrough.py

Needs ``pip install 'riskengine[pandas]'`` (``make`` installs it for development).
"""

import numpy as np
import pandas as pd

from riskengine import FactorHistory, Portfolio, compute_risk, run_backtest, run_scenarios
from riskengine.backtest import backtest_series

pd.set_option("display.width", 120)

# 1. Prices: any wide DataFrame of daily closes (dates as the index, one column per symbol),
#    here the bundled 20 US stocks read by pandas.
closes = pd.read_csv("data/us_equities_daily.csv", index_col="Date", parse_dates=True)
history = FactorHistory.from_frame(closes)

# 2. A book: the book columns of docs/formats.md, as a DataFrame.
book = Portfolio.from_frame(
    pd.DataFrame(
        {
            "id": ["aapl", "msft", "jpm", "xom-put"],
            "symbol": ["AAPL", "MSFT", "JPM", "XOM 2023-02-17 P 105"],
            "instrument_type": ["equity", "equity", "equity", "option"],
            "quantity": [2000, 1200, 1500, 30],
            "tags": ["sector=tech", "sector=tech", "sector=financials", "sector=energy"],
            "underlying": [None, None, None, "XOM"],
            "strike": [np.nan, np.nan, np.nan, 105.0],
            "expiry": [None, None, None, "2023-02-17"],
            "option_type": [None, None, None, "put"],
            "implied_vol": [np.nan, np.nan, np.nan, 0.35],
            "multiplier": [1, 1, 1, 100],
        }
    ),
    name="pandas book",
)

# 3. VaR and ES by confidence, then the contributions behind them.
report = compute_risk(
    book, history, method="historical", confidence=(0.95, 0.99), contributions=True
)
print(report.to_frame()[["value_at_risk", "expected_shortfall"]].round(0))
by_position = report.contributions.to_frame()
print(by_position.loc[0.99, ["component_var", "incremental_var", "standalone_var"]].round(0))
print(report.contributions.to_frame("tag").loc[0.99, ["component_var"]].round(0))

# 4. Stress scenarios: one row per scenario.
print(run_scenarios(book, history, ["covid-2020", "lehman-2008"]).to_frame()[["pnl"]].round(0))

# 5. A backtest of the engine's VaR, and of a series of your own (here: the engine's numbers
#    again, as a DataFrame would hold them), with the same statistics.
bt = run_backtest(book, history, window=250, start="2022-01-03", null_simulations=0)
daily = bt.to_frame()
print(daily[["pnl", "historical_var_0.99", "historical_exception_0.99"]].tail(3).round(0))
mine = backtest_series(daily["pnl_date"], daily["pnl"], {0.99: daily["historical_var_0.99"]})
print(mine.statistics_frame()[["n_exceptions", "kupiec_p", "traffic_light"]])
