"""The demo product as the seeds describe it: features, their depth ladders, onboarding, FX rates.

The generator emits exactly the event slugs of `seeds/feature_events.csv` for feature use, plus a few
product events (`signed_up`, `logged_in`, `profile_completed`, `settings_updated`). Editing the seeds
changes what is generated; nothing here names a demo feature except the beta story's feature id.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np

from accountpulse.errors import UserError
from accountpulse.generator.clock import day_number
from accountpulse.paths import SEEDS_DIR

SIGNED_UP = "signed_up"
LOGGED_IN = "logged_in"
PROFILE_COMPLETED = "profile_completed"
SETTINGS_UPDATED = "settings_updated"
PRODUCT_EVENTS = (SIGNED_UP, LOGGED_IN, PROFILE_COMPLETED, SETTINGS_UPDATED)
# Events a backend sends (no browser, so no anonymous id): matched by slug suffix/prefix.
SERVER_SIDE_MARKERS = ("api_request", "_synced", "webhook_")
ACRONYMS = {"ai": "AI", "api": "API", "csv": "CSV", "pdf": "PDF", "sso": "SSO", "url": "URL"}

APP_URL = "https://app.accountpulse-demo.com"
SITE_URL = "https://www.accountpulse-demo.com"
GENERAL_PAGES = (("Home", "/"), ("Settings", "/settings"), ("Profile", "/settings/profile"))
MARKETING_PAGES = (("Home", "/"), ("Pricing", "/pricing"), ("Sign Up", "/signup"))


def display_name(slug: str) -> str:
    """`dashboard_created` -> `Dashboard Created`, `ai_prompt_sent` -> `AI Prompt Sent`."""
    return " ".join(ACRONYMS.get(word, word.capitalize()) for word in slug.split("_"))


@dataclass(frozen=True)
class Feature:
    feature_id: str
    name: str
    is_core: bool
    released_at: date
    ladder: tuple[str, ...]  # event slugs by depth level, level 1 first


@dataclass(frozen=True)
class OnboardingStep:
    number: int
    name: str
    event: str


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    url: str
    title: str


@dataclass(frozen=True)
class Catalog:
    features: tuple[Feature, ...]
    onboarding: tuple[OnboardingStep, ...]
    fx: dict[str, tuple[tuple[date, Decimal], ...]]
    events: tuple[str, ...]  # every slug the generator can emit; index = event code
    pages: tuple[Page, ...]  # index = page code

    # ------------------------------------------------------------------------------- derived views
    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def event_texts(self) -> tuple[str, ...]:
        return tuple(display_name(slug) for slug in self.events)

    def event_code(self, slug: str) -> int:
        return self.events.index(slug)

    def feature_index(self, feature_id: str) -> int:
        for index, feature in enumerate(self.features):
            if feature.feature_id == feature_id:
                return index
        raise KeyError(feature_id)

    @property
    def max_depth(self) -> int:
        return max(len(feature.ladder) for feature in self.features)

    def ladder_codes(self) -> np.ndarray:
        """(features x max depth) event codes; -1 past the end of a shorter ladder."""
        table = np.full((self.n_features, self.max_depth), -1, dtype=np.int64)
        for f, feature in enumerate(self.features):
            table[f, : len(feature.ladder)] = [self.event_code(slug) for slug in feature.ladder]
        return table

    def ladder_lengths(self) -> np.ndarray:
        return np.array([len(feature.ladder) for feature in self.features], dtype=np.int64)

    def release_days(self) -> np.ndarray:
        return np.array([day_number(feature.released_at) for feature in self.features], dtype=np.int64)

    def feature_mask(self, feature_ids: tuple[str, ...]) -> np.ndarray:
        return np.array([feature.feature_id in feature_ids for feature in self.features], dtype=bool)

    def core_mask(self) -> np.ndarray:
        return np.array([feature.is_core for feature in self.features], dtype=bool)

    def onboarding_gates(self) -> list[tuple[int, int, int]]:
        """(step index, feature index, depth) for steps that are a feature's event: using that
        feature at that depth or deeper waits for the step (so steps happen in order)."""
        gates = []
        for s, step in enumerate(self.onboarding):
            for f, feature in enumerate(self.features):
                if step.event in feature.ladder:
                    gates.append((s, f, feature.ladder.index(step.event) + 1))
        return gates

    def feature_page_codes(self) -> np.ndarray:
        """(features x 2) page codes: each feature's list page and its 'new' page."""
        codes = np.zeros((self.n_features, 2), dtype=np.int64)
        paths = [page.path for page in self.pages]
        for f, feature in enumerate(self.features):
            base = "/" + feature.feature_id.replace("_", "-")
            codes[f] = (paths.index(base), paths.index(base + "/new"))
        return codes

    def general_page_codes(self) -> np.ndarray:
        return np.arange(len(GENERAL_PAGES), dtype=np.int64)

    def marketing_page_codes(self) -> np.ndarray:
        first = len(self.pages) - len(MARKETING_PAGES)
        return np.arange(first, len(self.pages), dtype=np.int64)

    def is_server_side(self) -> np.ndarray:
        return np.array([any(m in slug for m in SERVER_SIDE_MARKERS) for slug in self.events], dtype=bool)

    def fx_rate(self, currency: str, day: date) -> Decimal:
        """Rate to the reporting currency in force on `day` (latest valid_from <= day)."""
        rates = self.fx.get(currency.lower())
        if not rates:
            raise KeyError(f"no fx rate for {currency!r} in seeds/fx_rates.csv")
        chosen = None
        for valid_from, rate in rates:
            if valid_from <= day:
                chosen = rate
        if chosen is None:
            raise KeyError(f"no fx rate for {currency!r} in force on {day}")
        return chosen


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise UserError(f"seed file not found: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _truthy(text: str) -> bool:
    return text.lower() in ("true", "t", "1", "yes", "y")


def load_catalog(seeds_dir: Path = SEEDS_DIR) -> Catalog:
    features_rows = _read(seeds_dir / "features.csv")
    event_rows = _read(seeds_dir / "feature_events.csv")
    step_rows = _read(seeds_dir / "onboarding_steps.csv")
    fx_rows = _read(seeds_dir / "fx_rates.csv")

    ladders: dict[str, list[tuple[int, str]]] = {}
    for row in event_rows:
        ladders.setdefault(row["feature_id"], []).append((int(row["depth_level"]), row["event_name"]))
    features = []
    for row in features_rows:
        steps = sorted(ladders.get(row["feature_id"], []))
        if not steps:
            continue  # a feature without events cannot be used; nothing to generate for it
        features.append(
            Feature(
                feature_id=row["feature_id"],
                name=row["feature_name"],
                is_core=_truthy(row["is_core"]),
                released_at=date.fromisoformat(row["released_at"][:10]),
                ladder=tuple(slug for _, slug in steps),
            )
        )
    if not features:
        raise UserError("seeds/features.csv and seeds/feature_events.csv define no usable feature")

    onboarding = tuple(
        OnboardingStep(int(r["step_number"]), r["step_name"], r["event_name"])
        for r in sorted(step_rows, key=lambda r: int(r["step_number"]))
    )

    events: list[str] = []
    for slug in [*(s for f in features for s in f.ladder), *PRODUCT_EVENTS, *(s.event for s in onboarding)]:
        if slug not in events:
            events.append(slug)

    fx: dict[str, list[tuple[date, Decimal]]] = {}
    for row in fx_rows:
        fx.setdefault(row["currency"].lower(), []).append(
            (date.fromisoformat(row["valid_from"][:10]), Decimal(row["rate_to_reporting"]))
        )

    pages = [Page(name, path, APP_URL + path, f"{name} | AccountPulse") for name, path in GENERAL_PAGES]
    for feature in features:
        base = "/" + feature.feature_id.replace("_", "-")
        pages.append(Page(feature.name, base, APP_URL + base, f"{feature.name} | AccountPulse"))
        new_name = f"New {feature.name}"
        pages.append(Page(new_name, base + "/new", APP_URL + base + "/new", f"{new_name} | AccountPulse"))
    pages += [Page(n, p, SITE_URL + p, f"{n} | AccountPulse") for n, p in MARKETING_PAGES]

    return Catalog(
        features=tuple(features),
        onboarding=onboarding,
        fx={currency: tuple(sorted(rates)) for currency, rates in sorted(fx.items())},
        events=tuple(events),
        pages=tuple(pages),
    )
