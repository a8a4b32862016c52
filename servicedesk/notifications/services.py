"""Creating notifications and showing them to the people they are addressed to.

Audiences: ``supervisors`` (read by supervisors and admins), ``station`` (read by the staff
of that one station) and ``user`` (one person, whatever the role: the account manager of a
class A customer hears of its complaints). Agents see only the notices addressed to them.
Each user marks notices read for themselves (``NotificationRead``); a notice nobody in the
audience read stays unread for all.

Operations flush or execute in the caller's transaction and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from servicedesk.auth.models import User
from servicedesk.core.db import db
from servicedesk.notifications.models import Notification, NotificationRead

SUPERVISOR_ROLES = ("supervisor", "admin")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class NotificationNotFound(LookupError):
    """No such notification, or not one addressed to this user (the two are not told apart)."""


def audiences_for(ticket_kind: str, station_id: int | None) -> list[tuple[str, int | None]]:
    """Who hears about a ticket: ``[(audience, station_id), ...]``.

    Supervisors always; the ticket's station too when it has one, except for a complaint,
    which is never routed to the station it is about (DESIGN.md).
    """
    audiences: list[tuple[str, int | None]] = [("supervisors", None)]
    if station_id is not None and ticket_kind != "complaint":
        audiences.append(("station", station_id))
    return audiences


def build_notifications(
    kind: str,
    *,
    ticket_id: int,
    ticket_kind: str,
    station_id: int | None,
    clock_id: int | None,
    data: Mapping[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """The notification rows (column values) of one notice about a ticket, one per audience
    (see :func:`audiences_for`); the caller inserts them, many at a time."""
    return [
        {
            "kind": kind,
            "audience": audience,
            "station_id": audience_station,
            "ticket_id": ticket_id,
            "clock_id": clock_id,
            "data": data,
            "created_at": now,
        }
        for audience, audience_station in audiences_for(ticket_kind, station_id)
    ]


def addressed_to(user: User) -> sa.ColumnElement[bool]:
    """The condition selecting the notifications ``user`` may see: their audience's, and the
    ones addressed to them personally (audience ``user``, e.g. an account manager's)."""
    personal = sa.and_(Notification.audience == "user", Notification.user_id == user.id)
    if user.role in SUPERVISOR_ROLES:
        return sa.or_(
            sa.and_(Notification.audience == "supervisors", Notification.station_id.is_(None)),
            personal,
        )
    if user.role == "station" and user.station_id is not None:
        return sa.or_(
            sa.and_(Notification.audience == "station", Notification.station_id == user.station_id),
            personal,
        )
    return personal


def _read_by(user: User) -> sa.Exists:
    return (
        sa.select(NotificationRead.notification_id)
        .where(
            NotificationRead.notification_id == Notification.id,
            NotificationRead.user_id == user.id,
        )
        .exists()
    )


@dataclass(frozen=True)
class NotificationItem:
    """A notification as one user sees it; ``read_at`` is None while unread for them."""

    notification: Notification
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


def notifications_for(
    user: User,
    *,
    unread_only: bool = False,
    limit: int = DEFAULT_PAGE_SIZE,
    before_id: int | None = None,
) -> list[NotificationItem]:
    """The user's notifications, newest first (by id, which follows creation order).

    ``before_id`` pages on: only notifications with a smaller id. ``limit`` is capped at
    :data:`MAX_PAGE_SIZE`; a limit below 1 raises ``ValueError``.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    read_at = (
        sa.select(NotificationRead.read_at)
        .where(
            NotificationRead.notification_id == Notification.id,
            NotificationRead.user_id == user.id,
        )
        .scalar_subquery()
    )
    query = (
        sa.select(Notification, read_at)
        .where(addressed_to(user))
        .order_by(Notification.id.desc())
        .limit(min(limit, MAX_PAGE_SIZE))
    )
    if unread_only:
        query = query.where(~_read_by(user))
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return [
        NotificationItem(notification, read) for notification, read in db.session.execute(query)
    ]


def unread_count(user: User) -> int:
    """How many of the user's notifications they have not read."""
    query = (
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(addressed_to(user), ~_read_by(user))
    )
    return db.session.scalar(query) or 0


def _insert_reads():
    """``INSERT`` for notification_reads that ignores rows already there (two browser tabs
    marking the same notice at once must not fail)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(NotificationRead).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(NotificationRead).on_conflict_do_nothing()
    return sa.insert(NotificationRead)


def mark_read(user: User, notification_id: int, *, now: datetime) -> bool:
    """Mark one notification read for ``user``; False when it already was.

    Raises :class:`NotificationNotFound` when it does not exist or is not addressed to them.
    """
    visible = db.session.scalar(
        sa.select(Notification.id).where(Notification.id == notification_id, addressed_to(user))
    )
    if visible is None:
        raise NotificationNotFound(f"no notification {notification_id} for {user.username}")
    inserted = db.session.execute(
        _insert_reads()
        .values(notification_id=notification_id, user_id=user.id, read_at=now)
        .returning(NotificationRead.notification_id)
    )
    return inserted.first() is not None


def mark_all_read(user: User, *, now: datetime) -> int:
    """Mark every notification addressed to ``user`` read; how many were unread."""
    unread = sa.select(
        Notification.id, sa.literal(user.id), sa.literal(now, NotificationRead.read_at.type)
    ).where(addressed_to(user), ~_read_by(user))
    inserted = db.session.execute(
        _insert_reads()
        .from_select(["notification_id", "user_id", "read_at"], unread)
        .returning(NotificationRead.notification_id)
    )
    return len(inserted.all())
