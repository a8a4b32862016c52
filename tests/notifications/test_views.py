from datetime import timedelta

from servicedesk.notifications.models import Notification
from servicedesk.notifications.services import unread_count
from servicedesk.tickets.intake import TicketRequest, open_ticket


def _setup(db, make_user, make_customer, make_station, now):
    make_station("BJ-01")
    agent = make_user("agent1")
    ticket = open_ticket(
        agent, make_customer(), TicketRequest(kind="inquiry", summary="x"), now=now
    )
    notices = [
        Notification(
            kind=kind,
            audience="supervisors",
            ticket=ticket,
            data={"target": "respond", "due_at": "2026-11-20T12:30:00+08:00"},
            created_at=now + timedelta(minutes=i),
        )
        for i, kind in enumerate(["sla_warning", "sla_breach"])
    ]
    db.session.add_all(notices)
    db.session.flush()
    return ticket, notices


def test_supervisor_sees_and_reads_notifications(
    client, db, login, make_user, make_customer, make_station, now
):
    ticket, notices = _setup(db, make_user, make_customer, make_station, now)
    boss = make_user("boss", role="supervisor")
    login(boss)
    page = client.get("/notifications/").get_data(as_text=True)
    assert ticket.number in page
    assert "SLA warning" in page and "SLA target breached" in page
    assert 'class="count">2<' in client.get("/agent/").get_data(as_text=True)

    assert client.post(f"/notifications/{notices[0].id}/read").status_code == 302
    assert unread_count(boss) == 1
    assert client.post("/notifications/read").status_code == 302
    assert unread_count(boss) == 0


def test_notifications_of_others_are_not_found(
    client, db, login, make_user, make_customer, make_station, now
):
    _, notices = _setup(db, make_user, make_customer, make_station, now)
    login(make_user("eng", role="station", station_code="BJ-01"))
    page = client.get("/notifications/").get_data(as_text=True)
    assert "No notifications." in page
    assert client.post(f"/notifications/{notices[0].id}/read").status_code == 404


def test_agents_see_only_the_notices_addressed_to_them(
    client, db, login, make_user, make_customer, make_station, now
):
    ticket, notices = _setup(db, make_user, make_customer, make_station, now)
    manager = make_user("agent9")
    personal = Notification(
        kind="complaint",
        audience="user",
        user_id=manager.id,
        ticket=ticket,
        data={"ticket_number": ticket.number, "follow_up_of": "SD-2026-000999", "answers": {}},
        created_at=now,
    )
    db.session.add(personal)
    db.session.flush()
    login(manager)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Follow-up complaint from a satisfaction callback" in page
    assert "SD-2026-000999" in page
    assert "SLA warning" not in page
    assert client.post(f"/notifications/{notices[0].id}/read").status_code == 404
    assert client.post(f"/notifications/{personal.id}/read").status_code == 302
    assert unread_count(manager) == 0
