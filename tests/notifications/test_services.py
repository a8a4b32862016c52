from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.notifications.models import Notification, NotificationRead
from servicedesk.notifications.services import (
    NotificationNotFound,
    audiences_for,
    build_notifications,
    mark_all_read,
    mark_read,
    notifications_for,
    unread_count,
)
from servicedesk.tickets.intake import TicketRequest, open_ticket


@pytest.mark.parametrize(
    ("kind", "station_id", "expected"),
    [
        ("repair", 7, [("supervisors", None), ("station", 7)]),
        ("repair", None, [("supervisors", None)]),
        ("inquiry", 7, [("supervisors", None), ("station", 7)]),
        ("complaint", 7, [("supervisors", None)]),
        ("complaint", None, [("supervisors", None)]),
    ],
)
def test_audiences(kind, station_id, expected):
    assert audiences_for(kind, station_id) == expected


def test_one_notification_row_per_audience(now):
    rows = build_notifications(
        "sla_breach",
        ticket_id=4,
        ticket_kind="repair",
        station_id=7,
        clock_id=9,
        data={"target": "resolve"},
        now=now,
    )
    assert [(row["audience"], row["station_id"]) for row in rows] == [
        ("supervisors", None),
        ("station", 7),
    ]
    assert all(
        (row["kind"], row["ticket_id"], row["clock_id"], row["created_at"])
        == ("sla_breach", 4, 9, now)
        for row in rows
    )
    complaint = build_notifications(
        "sla_warning",
        ticket_id=4,
        ticket_kind="complaint",
        station_id=7,
        clock_id=9,
        data={},
        now=now,
    )
    assert [row["audience"] for row in complaint] == ["supervisors"]


@pytest.fixture
def world(db, make_user, make_customer, make_station, now):
    """Two stations with one user each, a supervisor, an admin, an agent, and a ticket."""
    north, south = make_station("BJ-01"), make_station("BJ-02")
    customer = make_customer()
    agent = make_user("agent1")
    ticket = open_ticket(agent, customer, TicketRequest(kind="inquiry", summary="Hours?"), now=now)
    return {
        "ticket": ticket,
        "north": north,
        "south": south,
        "agent": agent,
        "supervisor": make_user("boss", role="supervisor"),
        "admin": make_user("root", role="admin"),
        "north_user": make_user("north", role="station", station_code="BJ-01"),
        "south_user": make_user("south", role="station", station_code="BJ-02"),
    }


def _notify(db, world, now, *, audience="supervisors", station=None, minutes=0, kind="sla_warning"):
    notification = Notification(
        kind=kind,
        audience=audience,
        station=station,
        ticket=world["ticket"],
        data={"target": "respond"},
        created_at=now + timedelta(minutes=minutes),
    )
    db.session.add(notification)
    db.session.flush()
    return notification.id


def _ids(items):
    return [item.notification.id for item in items]


def test_each_role_sees_its_audience_newest_first(db, world, now):
    first = _notify(db, world, now)
    north = _notify(db, world, now, audience="station", station=world["north"])
    south = _notify(db, world, now, audience="station", station=world["south"])
    second = _notify(db, world, now, minutes=5, kind="sla_breach")

    assert _ids(notifications_for(world["supervisor"])) == [second, first]
    assert _ids(notifications_for(world["admin"])) == [second, first]
    assert _ids(notifications_for(world["north_user"])) == [north]
    assert _ids(notifications_for(world["south_user"])) == [south]
    assert notifications_for(world["agent"]) == []
    assert unread_count(world["agent"]) == 0


def test_unread_count_and_marking_read_are_per_user(db, world, now):
    first = _notify(db, world, now)
    second = _notify(db, world, now, minutes=1, kind="sla_breach")
    boss, root = world["supervisor"], world["admin"]
    assert unread_count(boss) == unread_count(root) == 2

    assert mark_read(boss, first, now=now) is True
    assert mark_read(boss, first, now=now) is False
    assert unread_count(boss) == 1
    assert unread_count(root) == 2
    items = {item.notification.id: item for item in notifications_for(boss)}
    assert items[first].read_at == now and not items[first].unread
    assert items[second].unread
    assert _ids(notifications_for(boss, unread_only=True)) == [second]

    assert mark_all_read(root, now=now) == 2
    assert mark_all_read(root, now=now) == 0
    assert unread_count(root) == 0
    assert mark_all_read(boss, now=now) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NotificationRead)) == 4


def test_a_user_cannot_mark_what_is_not_addressed_to_them(db, world, now):
    north = _notify(db, world, now, audience="station", station=world["north"])
    with pytest.raises(NotificationNotFound):
        mark_read(world["south_user"], north, now=now)
    with pytest.raises(NotificationNotFound):
        mark_read(world["supervisor"], north, now=now)
    with pytest.raises(NotificationNotFound):
        mark_read(world["north_user"], north + 1000, now=now)
    assert mark_all_read(world["south_user"], now=now) == 0
    assert unread_count(world["north_user"]) == 1


def test_pages_go_back_in_time(db, world, now):
    ids = [_notify(db, world, now, minutes=m) for m in range(5)]
    boss = world["supervisor"]
    page = notifications_for(boss, limit=2)
    assert _ids(page) == [ids[4], ids[3]]
    assert _ids(notifications_for(boss, limit=2, before_id=ids[3])) == [ids[2], ids[1]]
    with pytest.raises(ValueError):
        notifications_for(boss, limit=0)
