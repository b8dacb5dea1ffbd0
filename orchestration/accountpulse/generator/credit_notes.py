"""Credit notes and the invoice amount columns, added to the simulated Stripe tables.

Stripe issues a credit note against a finalized invoice: `pre_payment` on an invoice not yet paid
(it lowers the invoice's `amount_due`), `post_payment` on a paid one (refunded to the card, with a
`refund_id`, or credited to the customer's balance). Some are voided later. Credit notes are a cash
event: they never change MRR, so the ground truth (mrr.py) does not read them.

Invoices get `amount_due` (total less pre-payment credit notes) and `amount_paid` (amount_due when
paid, else 0) as Fivetran lands them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from accountpulse.generator.ids import rng_for, unique_stripe_ids

CREDIT_NOTE_SHARE = 0.04  # of paid invoices with a positive total
PRE_PAYMENT_SHARE = 0.25  # of open or uncollectible (unpaid) invoices
REFUND_SHARE = 0.6  # post-payment credit notes refunded to the card (the rest go to the balance)
VOID_SHARE = 0.1
REASONS = ("duplicate", "product_unsatisfactory", "order_change", "fraudulent")


def add_credit_notes(tables: dict[str, list[dict[str, Any]]], seed: int, horizon: datetime) -> None:
    """Fill invoice amount_due / amount_paid and write `credit_note` rows dated before `horizon`."""
    notes: list[dict[str, Any]] = []
    taken: set[str] = set()
    for invoice in tables["invoice"]:
        total = invoice["total"] or 0
        invoice["amount_due"] = total
        invoice["amount_paid"] = total if invoice["status"] == "paid" else 0
        if total <= 0 or invoice["status"] not in ("paid", "open", "uncollectible"):
            continue
        if invoice.get("livemode") is False or invoice.get("is_deleted") or invoice.get("_fivetran_deleted"):
            continue  # Stripe credits only live, existing invoices (a test-mode note would be test mode too)
        rng = rng_for(seed, "stripe", invoice["id"], "credit_note")
        paid = invoice["status"] == "paid"
        if rng.random() >= (CREDIT_NOTE_SHARE if paid else PRE_PAYMENT_SHARE):
            continue
        delay = timedelta(days=int(rng.integers(1, 20)), hours=int(rng.integers(0, 24)))
        created = invoice["created"] + delay
        if created >= horizon:
            continue
        amount = total if rng.random() < 0.5 else total // 2
        voided_at = created + timedelta(days=1) if rng.random() < VOID_SHARE else None
        refunded = paid and rng.random() < REFUND_SHARE
        note = credit_note_row(
            unique_stripe_ids(rng, 1, "cn_", taken)[0],
            invoice,
            amount,
            created,
            reason=str(rng.choice(REASONS)),
            refund_id=unique_stripe_ids(rng, 1, "re_", taken)[0] if refunded else None,
            voided_at=voided_at if voided_at is not None and voided_at < horizon else None,
        )
        notes.append(note)
        if not paid and note["status"] != "void":
            invoice["amount_due"] = total - amount
    tables["credit_note"] = notes


def credit_note_row(
    credit_note_id: str,
    invoice: dict[str, Any],
    amount: int,
    created: datetime,
    reason: str | None = None,
    refund_id: str | None = None,
    voided_at: datetime | None = None,
) -> dict[str, Any]:
    """One `credit_note` row in Fivetran's layout (no customer_id: the invoice has it; amounts in the
    currency's smallest unit)."""
    return {
        "id": credit_note_id,
        "invoice_id": invoice["id"],
        "total": amount,
        "currency": invoice["currency"],
        "status": "void" if voided_at is not None else "issued",
        "type": "post_payment" if invoice["status"] == "paid" else "pre_payment",
        "reason": reason,
        "created": created,
        "voided_at": voided_at,
        "refund_id": refund_id,
    }
