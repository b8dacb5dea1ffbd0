"""The data sets the benchmark measures: generator settings calibrated to a number of events.

"Events" are what the models process: Segment track and page rows as landed (duplicates
included), the same count SPEC.md's `events` metric uses (tracks + pages). Accounts grow with the
volume (about with its square root) rather than only events per user: a warehouse with ten times
the events usually has more customers too, and the account × day and account × feature × month
models grow with accounts, not with events. The generator's `--scale` multiplies events per active
user-day on top of a fixed part (the daily login and first page view), so the calibration is
measured, not computed; the benchmark reports the rows it actually got.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    events: int  # the target: tracks + pages rows
    accounts: int
    days: int
    scale: float  # the generator's events-per-user-day multiplier

    def generator_args(self) -> list[str]:
        return ["--accounts", str(self.accounts), "--days", str(self.days), "--scale", str(self.scale)]

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "target_events": self.events,
            "accounts": self.accounts,
            "days": self.days,
            "scale": self.scale,
        }


SCALES: dict[str, Scale] = {
    scale.name: scale
    for scale in (
        Scale("tiny", 60_000, accounts=16, days=100, scale=0.5),
        Scale("1m", 1_000_000, accounts=120, days=480, scale=0.93),
        Scale("10m", 10_000_000, accounts=400, days=480, scale=8.65),
        Scale("100m", 100_000_000, accounts=1200, days=480, scale=40.0),
    )
}


def scale_named(name: str) -> Scale:
    try:
        return SCALES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}: choose from {', '.join(SCALES)}") from None
