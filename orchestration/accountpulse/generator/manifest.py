"""The manifest: what was generated, where, with which messes and stories, and the MRR ground truth.

Tests and the report read it to find the planted accounts and to check the models against what the
generator intended.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from accountpulse.errors import UserError
from accountpulse.generator import stories
from accountpulse.generator.clock import MS_DAY, datetime_of, day_date
from accountpulse.generator.messes import Counts
from accountpulse.generator.mrr import expected_mrr
from accountpulse.generator.world import World

FORMAT_VERSION = 1
MESS_DEFINITIONS = {
    "rows": "rows landed in the table",
    "duplicate_rows": "extra deliveries of a message id (rows - distinct ids)",
    "late_arrivals": "distinct ids with received_at >= timestamp + 1 day",
    "clock_skew": "distinct track ids with |original_timestamp - timestamp| >= 1 hour (sent_at is off "
    "by the same amount, so the corrected time is right)",
    "anonymous": "distinct ids with user_id null (anonymous_id only), stitched by a later identify",
    "unresolved": "distinct ids whose user_id no group call ever names",
    "shared_devices": "a leaver's device used by a colleague from guest_from (inclusive) to guest_until "
    "(exclusive): the guest's calls carry the leaver's anonymous_id, each session starts with an identify "
    "of the guest on it and ends with an anonymous page (logged out)",
}
STRIPE_NOTES = [
    "Renewal invoices carry the previous period in invoice.period_start/period_end (as Stripe does); "
    "the billing period is on the lines.",
    "Mid-period changes are invoiced at once: proration lines have type 'invoiceitem' and proration true.",
    "subscription_item holds current items only: removed items are absent (they remain on invoice lines).",
    "Customers without account_id in metadata are keyed by their Stripe customer id in expected_mrr.",
    "Invoices are 'open' while past_due, 'uncollectible' when dunning ended in cancellation.",
]


@dataclass
class GenerationResult:
    target: str
    location: str
    manifest_path: Path
    row_counts: dict[str, int]
    seconds: float
    appended_days: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = (
            f"Appended {len(self.appended_days)} day(s) ({', '.join(self.appended_days)})"
            if self.appended_days
            else "Generated"
        )
        lines = [f"{verb} in {self.seconds:.1f}s -> {self.target}: {self.location}"]
        width = max(len(name) for name in self.row_counts) if self.row_counts else 0
        for name, count in self.row_counts.items():
            lines.append(f"  {name:<{width}}  {count:>12,}")
        lines.append(f"Manifest: {self.manifest_path}")
        return "\n".join(lines)


def _iso(ms: int) -> str:
    return datetime_of(ms).isoformat(sep=" ", timespec="milliseconds")


def describe_messes(world: World, counts: Counts, horizon_ms: int) -> dict[str, Any]:
    members, users, accounts = world.members, world.users, world.accounts
    ids = users.user_id
    out: dict[str, Any] = {"definitions": MESS_DEFINITIONS}
    for table, mess in counts.tables.items():
        out[table] = mess.as_dict()
    ends = np.minimum(members.end_day, members.silent_from) * MS_DAY
    activity_end = np.array([a.activity_end_day for a in accounts])[members.account] * MS_DAY
    started = members.is_new & members.anonymous_start & (members.start_ms < np.minimum(ends, activity_end))
    started &= members.start_ms < horizon_ms
    out["anonymous_users"] = int(started.sum())
    out["multi_group_users"] = [
        {
            "user_id": ids[link["user_index"]],
            "account_ids": [accounts[link["from"]].account_id, accounts[link["to"]].account_id],
            "second_group_call_at": _iso(link["at_ms"]),
        }
        for link in world.links["multi_group_users"]
    ]
    out["moved_users"] = [
        {
            "user_id": ids[link["user_index"]],
            "from_account_id": accounts[link["from"]].account_id,
            "to_account_id": accounts[link["to"]].account_id,
            "moved_at": _iso(link["at_ms"]),
        }
        for link in world.links["moved_users"]
    ]
    out["shared_devices"] = [
        {
            "anonymous_id": users.anonymous_id[link["owner"]],
            "owner_user_id": ids[link["owner"]],
            "guest_user_id": ids[link["guest"]],
            "account_id": accounts[link["account"]].account_id,
            "guest_from": day_date(link["from_day"]).isoformat(),
            "guest_until": day_date(link["to_day"]).isoformat(),
        }
        for link in world.links["shared_devices"]
    ]
    out["unresolved_user_ids"] = [ids[i] for i in np.flatnonzero(users.unresolved)]
    stripe = world.stripe
    out["stripe_customers_without_account_id"] = [
        stripe.customer_ids[c.key] for c in world.book.customers if c.account_id is None
    ]
    out["billing_only_account_ids"] = list(world.book.scenarios.get("billing_only_customer", []))
    return out


def describe_accounts(world: World) -> list[dict[str, Any]]:
    paying = {
        c.account_index for c in world.book.customers if c.account_index is not None and c.subscriptions
    }
    sl = world.members
    return [
        {
            "account_id": a.account_id,
            "name": a.name,
            "story": a.story,
            "users": int(sl.of(a.index).stop - sl.of(a.index).start),
            "created_at": _iso(a.created_ms),
            "has_stripe_customer": a.index in paying,
        }
        for a in world.accounts
    ]


def build_manifest(world: World, counts: Counts, row_counts: dict[str, int], target: dict[str, str]) -> dict:
    config = world.config
    end: date = day_date(world.end_day)
    renewals = {}
    for run in world.stripe.runs:
        index = run.customer.account_index
        if index is not None and run.current_period_end is not None and run.status in ("active", "past_due"):
            renewals[index] = run.current_period_end
    horizon_ms = (world.end_day + 1) * MS_DAY
    return {
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "target": target,
        "window": {
            "start_date": config.start_date.isoformat(),
            "end_date": end.isoformat(),
            "days": config.days,
        },
        "reporting_currency": "usd",
        "row_counts": row_counts,
        "messes": describe_messes(world, counts, horizon_ms),
        "stories": stories.describe(
            world.accounts, world.members, world.users.user_id, world.catalog, world.end_day, renewals
        ),
        "accounts": describe_accounts(world),
        "stripe": {
            "scenarios": {k: sorted(v) for k, v in sorted(world.book.scenarios.items())},
            "free_account_ids": world.book.free_accounts,
            "notes": STRIPE_NOTES,
        },
        "expected_mrr": expected_mrr(world.stripe, world.catalog, end),
        "appends": [],
    }


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        raise UserError(f"cannot write the manifest {path}: {error}") from error


def read_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise UserError(f"no manifest at {path}: run `accountpulse generate` first (or pass --manifest)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"cannot read the manifest {path}: {error}") from error
