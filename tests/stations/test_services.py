from datetime import timedelta

import pytest
import sqlalchemy as sa

from servicedesk.stations import services
from servicedesk.stations.models import Station, StationChange
from servicedesk.stations.services import (
    MAX_CAPACITY,
    StationError,
    open_ticket_counts,
    reinstate_station,
    split_places,
    station_changes,
    station_load,
    suspend_station,
    update_station,
)
from servicedesk.tickets.models import Ticket

CURRENT = {
    "cities": ["北京", "天津"],
    "four_hour_cities": ["北京"],
    "product_lines": ["desktop", "laptop"],
    "capacity": 10,
    "status": "active",
    "reason": "",
}


@pytest.fixture
def station(make_station):
    return make_station(
        cities=("北京", "天津"),
        four_hour=("北京",),
        product_lines=("laptop", "desktop"),
        capacity=10,
    )


@pytest.fixture
def supervisor(make_user):
    return make_user("sup1", role="supervisor")


def edit(supervisor, station, now, **overrides):
    return update_station(supervisor, station, **{**CURRENT, **overrides}, now=now)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"four_hour_cities": ["上海"]}, "four_hour_cities"),
        ({"cities": ["天津"], "four_hour_cities": ["北京"]}, "four_hour_cities"),
        ({"product_lines": ["toaster"]}, "product_lines"),
        ({"product_lines": []}, "product_lines"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": MAX_CAPACITY + 1}, "capacity"),
        ({"capacity": None}, "capacity"),
        ({"capacity": "5"}, "capacity"),
        ({"capacity": 2.5}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"status": "closed"}, "status"),
        ({"status": ""}, "status"),
        ({"status": "suspended", "reason": "   "}, "reason"),
        ({"status": "probation", "reason": ""}, "reason"),
        ({"capacity": 5, "reason": "x" * 1001}, "reason"),
        ({"cities": ["北" * 61]}, "cities"),
    ],
)
def test_invalid_edits_are_refused_and_change_nothing(
    db, station, supervisor, now, overrides, field
):
    with pytest.raises(StationError) as raised:
        edit(supervisor, station, now, **overrides)

    assert field in [problem.field for problem in raised.value.problems]
    assert all(problem.render(lambda text: text) for problem in raised.value.problems)
    db.session.expire_all()
    fresh = db.session.get(Station, station.id)
    assert sorted(fresh.city_names) == ["北京", "天津"]
    assert fresh.four_hour_city_names == ["北京"]
    assert sorted(fresh.product_line_names) == ["desktop", "laptop"]
    assert (fresh.capacity, fresh.status) == (10, "active")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StationChange)) == 0


def test_every_problem_is_reported_at_once(db, station, supervisor, now):
    with pytest.raises(StationError) as raised:
        edit(supervisor, station, now, product_lines=["toaster"], capacity=-3, status="gone")

    fields = {p.field for p in raised.value.problems}
    assert fields == {"product_lines", "capacity", "status", "reason"}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"capacity": 0}, {"capacity"}),
        ({"status": "suspended", "reason": "quality audit"}, {"status"}),
        ({"product_lines": ["laptop", "server"]}, {"product_lines"}),
        ({"cities": ["北京", "天津", "石家庄"]}, {"cities"}),
        ({"four_hour_cities": ["北京", "天津"]}, {"four_hour_cities"}),
        ({"cities": ["北京"]}, {"cities"}),
        (
            {"cities": ["北京"], "four_hour_cities": [], "capacity": 3},
            {
                "cities",
                "four_hour_cities",
                "capacity",
            },
        ),
    ],
)
def test_history_holds_only_the_changed_fields(db, station, supervisor, now, overrides, expected):
    change = edit(supervisor, station, now, **overrides)

    assert change is not None
    assert set(change.changes) == expected
    for name in expected:
        assert change.changes[name]["before"] == CURRENT[name]
        wanted = overrides[name]
        assert change.changes[name]["after"] == (
            sorted(wanted) if isinstance(wanted, list) else wanted
        )
    assert change.changed_by_id == supervisor.id
    assert change.changed_at == now
    assert station_changes(station) == [change]


def test_applied_settings_are_saved(db, station, supervisor, now):
    edit(
        supervisor,
        station,
        now,
        cities=["天津市", "北京市", "保定市", "保定"],
        four_hour_cities=["天津"],
        product_lines=["server"],
        capacity=25,
        status="probation",
        reason="  satisfaction below 85%  ",
    )
    db.session.commit()
    db.session.expire_all()

    fresh = db.session.get(Station, station.id)
    assert sorted(fresh.city_names) == ["保定", "北京", "天津"]
    assert fresh.four_hour_city_names == ["天津"]
    assert fresh.product_line_names == ["server"]
    assert (fresh.capacity, fresh.status) == (25, "probation")
    (change,) = station_changes(fresh)
    assert change.reason == "satisfaction below 85%"
    assert change.changes["cities"] == {
        "before": ["北京", "天津"],
        "after": ["保定", "北京", "天津"],
    }
    assert change.changes["four_hour_cities"] == {"before": ["北京"], "after": ["天津"]}
    assert change.changes["status"] == {"before": "active", "after": "probation"}


def test_nothing_changed_records_nothing(db, station, supervisor, now):
    same_in_other_order = {
        "cities": ["天津市", " 北京 "],
        "product_lines": ["laptop", "desktop", "laptop"],
    }
    assert edit(supervisor, station, now, **same_in_other_order) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StationChange)) == 0


def test_history_is_newest_first(db, station, supervisor, now):
    first = edit(supervisor, station, now, capacity=11)
    second = edit(supervisor, station, now + timedelta(hours=1), capacity=12)

    assert station_changes(station) == [second, first]
    assert second.changes == {"capacity": {"before": 11, "after": 12}}


def test_split_places_accepts_common_separators():
    assert split_places("北京; 天津,上海，广州、深圳\n杭州\r\n ;;") == [
        "北京",
        "天津",
        "上海",
        "广州",
        "深圳",
        "杭州",
    ]


def _ticket(db, customer, station, status, sequence):
    ticket = Ticket(
        number=f"SD-2026-{sequence:06d}",
        kind="repair",
        status=status,
        customer_id=customer.id,
        station_id=station.id if station else None,
        summary="does not boot",
    )
    db.session.add(ticket)
    db.session.flush()
    return ticket


def test_station_load_counts_open_tickets_only(db, make_station, make_customer, station):
    other = make_station("BJ-02")
    customer = make_customer()
    statuses = ["dispatched", "accepted", "on_site", "waiting_customer", "resolved", "closed"]
    for sequence, status in enumerate(statuses, start=1):
        _ticket(db, customer, station, status, sequence)
    _ticket(db, customer, other, "dispatched", 50)
    _ticket(db, customer, None, "new", 51)

    assert station_load(station) == (4, 10)
    assert station_load(other) == (1, 10)
    assert open_ticket_counts([station.id, other.id]) == {station.id: 4, other.id: 1}
    assert open_ticket_counts([]) == {}


def test_suspend_and_reinstate_touch_only_the_status(db, make_station, make_user, now):
    """Even a station whose other settings would not pass the edit form (no product line)
    can be suspended and reinstated."""
    supervisor = make_user("boss", role="supervisor")
    broken = make_station("BJ-07", product_lines=(), capacity=3)
    change = suspend_station(supervisor, broken, reason=" audit ", now=now)
    assert broken.status == "suspended"
    assert (change.changed_by_id, change.reason, change.changes) == (
        supervisor.id,
        "audit",
        {"status": {"before": "active", "after": "suspended"}},
    )
    reinstate_station(supervisor, broken, reason="fixed", now=now + timedelta(hours=1))
    assert broken.status == "active" and broken.capacity == 3
    assert [c.changes["status"]["after"] for c in station_changes(broken)] == [
        "active",
        "suspended",
    ]


@pytest.mark.parametrize(
    ("status", "action", "reason", "field"),
    [
        ("active", "suspend", "", "reason"),
        ("active", "suspend", "x" * 1001, "reason"),
        ("suspended", "suspend", "again", "status"),
        ("active", "reinstate", "why", "status"),
    ],
)
def test_suspend_and_reinstate_refusals(
    db, make_station, make_user, now, status, action, reason, field
):
    station = make_station("BJ-07", status=status)
    with pytest.raises(StationError) as refused:
        getattr(services, f"{action}_station")(
            make_user("boss", role="supervisor"), station, reason=reason, now=now
        )
    assert [problem.field for problem in refused.value.problems] == [field]
    assert station.status == status
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StationChange)) == 0
