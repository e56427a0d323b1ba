"""A book: ``Portfolio``, an ordered tuple of positions. The instruments and ``Position`` are
in ``instruments.kinds`` (re-exported here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from riskengine.errors import PortfolioFormatError
from riskengine.instruments.kinds import (  # re-exported: riskengine.instruments.types.<name>
    INSTRUMENT_TYPES,
    OPTION_BOUNDS,
    Bound,
    Equity,
    EuropeanOption,
    Future,
    FxSpot,
    Instrument,
    Position,
)

__all__ = [
    "INSTRUMENT_TYPES",
    "OPTION_BOUNDS",
    "Bound",
    "Equity",
    "EuropeanOption",
    "Future",
    "FxSpot",
    "Instrument",
    "Portfolio",
    "Position",
]


@dataclass(frozen=True)
class Portfolio:
    """A book: an ordered tuple of positions with unique ids."""

    positions: tuple[Position, ...] = field(default_factory=tuple)
    name: str = "portfolio"

    def __post_init__(self):
        seen: set[str] = set()
        for p in self.positions:
            if p.id in seen:
                raise PortfolioFormatError(
                    f"position id {p.id!r} appears twice in portfolio {self.name!r}; "
                    "ids must be unique (leave the id column out to number rows automatically)."
                )
            seen.add(p.id)

    def __len__(self) -> int:
        return len(self.positions)

    def __hash__(self) -> int:
        """The hash of the positions and the name, computed once (the book is frozen; 50,000
        positions take ~40 ms to hash): compiled books are cached by it."""
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.positions, self.name))
            object.__setattr__(self, "_hash", h)
        return h

    def __getstate__(self) -> dict:
        """Pickled without the hash (string hashes differ between processes)."""
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def scaled(self, factor: float) -> Portfolio:
        """Every quantity multiplied by ``factor`` (a 2x book has twice the VaR)."""
        return Portfolio(tuple(p.scaled(factor) for p in self.positions), self.name)

    @classmethod
    def from_frame(cls, frame, name: str = "portfolio") -> Portfolio:
        """A book from a pandas DataFrame whose columns are the book fields of docs/formats.md
        (``symbol``, ``quantity``, ``instrument_type``, ...; an ``id`` index counts as the id
        column); NaN or None: the field is not given (``riskengine[pandas]``).

        Raises:
            PortfolioFormatError: as for a book file, naming the row, the field and the value.
        """
        from riskengine.instruments.frames import frame_records
        from riskengine.instruments.records import positions_from_records

        records = frame_records(frame)
        if not records:
            raise PortfolioFormatError("the DataFrame has no rows: a book needs positions.")
        return cls(positions_from_records(records, "the DataFrame"), name)

    def to_frame(self):
        """The book as a pandas DataFrame indexed by position ``id``, one column per book field
        (None/NaN where a field does not apply); ``Portfolio.from_frame`` reads it back to an
        equal book (``riskengine[pandas]``)."""
        from riskengine.instruments.frames import portfolio_to_frame

        return portfolio_to_frame(self)

    @classmethod
    def from_positions(cls, positions, name: str = "portfolio") -> Portfolio:
        return cls(tuple(positions), name)
