import pytest
import sqlalchemy as sa

from servicedesk import create_app
from servicedesk.customers.models import Asset, Customer, Entitlement
from servicedesk.imports import cli
from servicedesk.stations.models import Region, RegionPlace, Station

CUSTOMERS = "code,name,class,province,city,address,phones,language\n"


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def write(tmp_path):
    def write(name, text, encoding="utf-8"):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


def invoke(runner, *args):
    return runner.invoke(args=["import", *map(str, args)])


def count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def regions(db, runner):
    result = invoke(runner, "regions")
    assert result.exit_code == 0, result.output
    return result


def test_help_documents_the_exit_status(runner):
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    assert "0  every row was imported" in result.output
    assert "1  some rows were rejected; the others were imported" in result.output
    assert "2  the file was refused as a whole" in result.output
    for kind in ("regions", "stations", "customers", "assets", "entitlements"):
        assert kind in result.output
    stations = invoke(runner, "stations", "--help")
    assert "code,name,region,cities,four_hour_cities,product_lines,capacity,status" in (
        stations.output
    )
    assert "1 some rows rejected" in stations.output


def test_regions_without_a_file_loads_the_shipped_regions(db, runner, regions):
    assert regions.stdout == "regions: 18 rows: 18 added, 0 updated, 0 unchanged, 0 rejected\n"
    db.session.rollback()
    assert count(db, Region) == 18
    assert db.session.get(RegionPlace, "深圳").region_code == "shengui"
    again = invoke(runner, "regions")
    assert again.exit_code == 0
    assert "18 unchanged" in again.stdout


def test_a_whole_data_set_imports_cleanly_and_twice(db, runner, regions, write):
    files = [
        (
            "stations",
            write(
                "stations.csv",
                "code,name,region,cities,four_hour_cities,product_lines,capacity,status\n"
                "SZ-01,深圳服务站,shengui,深圳,深圳,laptop;server,20,active\n",
            ),
        ),
        (
            "customers",
            write(
                "customers.csv",
                CUSTOMERS + "C0001,星河科技,A,广东省,深圳市,南山区,0755 8888 8888,zh\n",
            ),
        ),
        (
            "assets",
            write(
                "assets.csv",
                "serial,customer,product_line,model,purchase_date,province,city\n"
                "SRV1,C0001,server,SR650,2025-01-01,广东,深圳\n",
            ),
        ),
        (
            "entitlements",
            write(
                "entitlements.csv",
                "serial,offering,start,end\nSRV1,onsite_4h,2025-01-01,2028-01-01\n",
            ),
        ),
    ]
    for kind, path in files:
        result = invoke(runner, kind, path)
        assert result.exit_code == 0, result.output
        assert result.stdout == f"{kind}: 1 rows: 1 added, 0 updated, 0 unchanged, 0 rejected\n"
    for kind, path in files:
        result = invoke(runner, kind, path)
        assert result.stdout == f"{kind}: 1 rows: 0 added, 0 updated, 1 unchanged, 0 rejected\n"
    db.session.rollback()
    assert [count(db, model) for model in (Station, Customer, Asset, Entitlement)] == [1, 1, 1, 1]


def test_rejected_rows_are_listed_with_their_lines_and_the_rest_is_kept(db, runner, regions, write):
    path = write(
        "customers.csv",
        CUSTOMERS
        + "C0001,星河科技,A,广东,深圳,,0755 8888 8888,zh\n"
        + "C0002,坏电话,B,广东,深圳,,12345,zh\n"
        + '"C0003","多行地址",C,广东,深圳,"第一行\n第二行",,en\n'
        + "C0004,无名省,C,火星,深圳,,,zh\n",
    )
    result = invoke(runner, "customers", path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "customers.csv: rejected line 3: bad phone '12345': not a valid phone number "
        "(write e.g. 138 0013 8000, +86 10 6275 1234 or 010-62751234 ext 8)",
        "customers.csv: rejected line 6: unknown province '火星' (not part of any service region)",
        "customers: 4 rows: 2 added, 0 updated, 0 unchanged, 2 rejected",
    ]
    db.session.rollback()
    assert db.session.scalars(sa.select(Customer.code).order_by(Customer.code)).all() == [
        "C0001",
        "C0003",
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("code,name,class,province,city,address\n", "lacks the column(s) phones, language"),
        ("", "the file is empty"),
    ],
)
def test_a_bad_header_refuses_the_whole_file(db, runner, regions, write, header, message):
    path = write("customers.csv", header + ("C1,甲,A,广东,深圳,\n" if header else ""))
    result = invoke(runner, "customers", path)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "nothing was imported" in result.stderr
    assert result.stdout == ""
    db.session.rollback()
    assert count(db, Customer) == 0


def test_a_file_that_is_not_utf8_is_refused(db, runner, regions, write):
    path = write("customers.csv", CUSTOMERS + "C1,星河,A,广东,深圳,,,zh\n", encoding="gbk")
    result = invoke(runner, "customers", path)
    assert result.exit_code == 2
    assert "not UTF-8 (first bad byte on line 2)" in result.stderr
    assert "CSV UTF-8" in result.stderr


def test_a_byte_order_mark_is_fine(db, runner, regions, write):
    path = write("customers.csv", CUSTOMERS + "C1,星河,A,广东,深圳,,,zh\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = invoke(runner, "customers", path)
    assert result.exit_code == 0, result.output
    assert "1 added" in result.stdout


def test_unknown_columns_are_named_in_a_warning(db, runner, regions, write):
    path = write("customers.csv", CUSTOMERS.strip() + ",vip\nC1,星河,A,广东,深圳,,,zh,yes\n")
    result = invoke(runner, "customers", path)
    assert result.exit_code == 0
    assert "warning: ignoring unknown column(s) vip" in result.stderr


def test_a_dry_run_reports_but_saves_nothing(db, runner, regions, write):
    path = write(
        "customers.csv",
        CUSTOMERS + "C1,星河,A,广东,深圳,,,zh\nC2,坏,Z,广东,深圳,,,zh\n",
    )
    result = invoke(runner, "customers", path, "--dry-run")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == (
        "dry run, nothing saved: customers: 2 rows: 1 added, 0 updated, 0 unchanged, 1 rejected"
    )
    db.session.rollback()
    assert count(db, Customer) == 0


def test_progress_goes_to_stderr(db, runner, regions, write, monkeypatch):
    monkeypatch.setattr(cli, "BATCH_SIZE", 2)
    monkeypatch.setattr(cli, "PROGRESS_EVERY", 4)
    rows = "".join(f"C{n},客户{n},C,广东,深圳,,,zh\n" for n in range(9))
    result = invoke(runner, "customers", write("customers.csv", CUSTOMERS + rows))
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "customers: 4 of 9 rows done",
        "customers: 8 of 9 rows done",
    ]
    assert result.stdout == "customers: 9 rows: 9 added, 0 updated, 0 unchanged, 0 rejected\n"


def test_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = invoke(runner, "stations", tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_a_database_without_tables_is_explained(tmp_path, write):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}", "SECRET_KEY": "x"}
    )
    path = write("customers.csv", CUSTOMERS + "C1,星河,A,广东,深圳,,,zh\n")
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["import", "customers", str(path)])
        from servicedesk.core.db import db

        db.session.remove()
        db.engine.dispose()
    assert result.exit_code == 2
    assert "no such table: region_places" in result.stderr
    assert "has `servicedesk db upgrade` been run?" in result.stderr
