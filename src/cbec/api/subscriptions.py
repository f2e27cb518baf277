"""Push subscriptions over HTTP: an enterprise registers, lists and deletes its endpoints, and reads the
delivery log of each. The signing secret is in the answer to POST only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from cbec.access import audit
from cbec.api.auth import AppStore, Caller, enterprise_of
from cbec.api.errors import BAD_ENDPOINT, ApiError, Input, not_found, responses
from cbec.delivery.service import (
    DeliveryError,
    SubscriptionNotFound,
    create_subscription,
    delete_subscription,
    get_subscription,
)
from cbec.store.models import DeliveryRow, SubscriptionRow

router = APIRouter(prefix="/api/v1")
MAX_PAGE = 500
SubscriptionId = Annotated[int, Path(ge=1, le=2**62)]


class SubscriptionIn(Input):
    url: str = Field(min_length=1, max_length=2000, description="https://…, or http://127.0.0.1… for tests")


class SubscriptionOut(BaseModel):
    id: int
    url: str
    status: str
    cursor: int
    attempts: int
    nextAttemptAt: str | None
    createdAt: str
    deletedAt: str | None


class SubscriptionCreated(SubscriptionOut):
    """The new subscription with its signing secret: shown this once only, keep it safe."""

    secret: str


class DeliveryOut(BaseModel):
    id: int
    receiptId: int
    attempt: int
    outcome: str
    statusCode: int | None
    error: str | None
    at: str
    nextAttemptAt: str | None


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    next: int


def _subscription(row: SubscriptionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "status": row.status,
        "cursor": row.cursor,
        "attempts": row.attempts,
        "nextAttemptAt": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
        "createdAt": row.created_at.isoformat(),
        "deletedAt": row.deleted_at.isoformat() if row.deleted_at else None,
    }


@router.post("/subscriptions", status_code=201, response_model=SubscriptionCreated, responses=responses(403))
def subscribe(body: SubscriptionIn, principal: Caller, store: AppStore) -> dict[str, Any]:
    """Register an endpoint for pushed receipts; the answer carries the signing secret, shown once."""
    code = enterprise_of(principal)
    try:
        with store.transaction() as session:
            row, secret = create_subscription(session, code, body.url)
            audit(session, principal, "subscription.add", [("subscription", str(row.id))], via="api")
            return {**_subscription(row), "secret": secret}
    except DeliveryError as exc:
        raise ApiError(400, BAD_ENDPOINT, exc.zh, exc.en) from exc


@router.get("/subscriptions", response_model=list[SubscriptionOut], responses=responses(403))
def subscriptions(principal: Caller, store: AppStore) -> list[dict[str, Any]]:
    """The caller's subscriptions (deleted ones too), without their secrets."""
    code = enterprise_of(principal)
    with store.transaction() as session:
        rows = session.scalars(
            select(SubscriptionRow)
            .where(SubscriptionRow.enterprise_code == code)
            .order_by(SubscriptionRow.id)
        )
        return [_subscription(r) for r in rows]


@router.delete(
    "/subscriptions/{subscription_id}", response_model=SubscriptionOut, responses=responses(403, 404)
)
def unsubscribe(subscription_id: SubscriptionId, principal: Caller, store: AppStore) -> dict[str, Any]:
    """Stop pushing to an endpoint; its delivery log stays readable."""
    code = enterprise_of(principal)
    try:
        with store.transaction() as session:
            row = delete_subscription(session, code, subscription_id)
            audit(session, principal, "subscription.delete", [("subscription", str(row.id))], via="api")
            return _subscription(row)
    except SubscriptionNotFound as exc:
        raise not_found(f"订阅 {subscription_id} / subscription {subscription_id}") from exc


@router.get(
    "/subscriptions/{subscription_id}/deliveries", response_model=DeliveryPage, responses=responses(403, 404)
)
def deliveries(
    subscription_id: SubscriptionId,
    principal: Caller,
    store: AppStore,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Every delivery attempt of a subscription, oldest first, by cursor: outcome, HTTP status, error and
    when the next attempt is due."""
    code = enterprise_of(principal)
    with store.transaction() as session:
        try:
            get_subscription(session, code, subscription_id)
        except SubscriptionNotFound as exc:
            raise not_found(f"订阅 {subscription_id} / subscription {subscription_id}") from exc
        rows = session.scalars(
            select(DeliveryRow)
            .where(DeliveryRow.subscription_id == subscription_id, DeliveryRow.id > after)
            .order_by(DeliveryRow.id)
            .limit(limit)
        ).all()
        page = [
            {
                "id": r.id,
                "receiptId": r.receipt_id,
                "attempt": r.attempt,
                "outcome": r.outcome,
                "statusCode": r.status_code,
                "error": r.error,
                "at": r.at.isoformat(),
                "nextAttemptAt": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
            }
            for r in rows
        ]
    return {"deliveries": page, "next": page[-1]["id"] if page else after}
