import pytest

from servicedesk.config import config_from_env, database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_uses_psycopg3(given, expected):
    assert database_url(given) == expected


TWILIO = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+1555"}


@pytest.mark.parametrize(
    ("environ", "telephony"),
    [
        ({}, "simulated"),
        (TWILIO, "twilio"),
        ({**TWILIO, "SERVICEDESK_TELEPHONY": "simulated"}, "simulated"),
        ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, "simulated"),
        ({"SERVICEDESK_TELEPHONY": "twilio"}, "simulated"),
    ],
)
def test_telephony_is_simulated_without_credentials(environ, telephony, tmp_path):
    assert config_from_env(environ, tmp_path)["SERVICEDESK_TELEPHONY"] == telephony


def test_defaults(tmp_path):
    config = config_from_env({}, tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'servicedesk.db'}"
    assert config["SERVICEDESK_TIMEZONE"] == "Asia/Shanghai"
    assert config["SERVICEDESK_CALLING_HOURS"] == "09:00-20:00"
    assert config["SERVICEDESK_CALLBACK_DELAY_MINUTES"] == 1440
    assert config["SERVICEDESK_CALLBACK_ATTEMPTS"] == 3
    assert config["SERVICEDESK_CALLBACK_RETRY_MINUTES"] == 120
    assert config["SESSION_COOKIE_SECURE"] is False


def test_secret_key_persists_in_the_instance_folder(tmp_path):
    first = config_from_env({}, tmp_path)["SECRET_KEY"]
    assert len(first) >= 32
    assert config_from_env({}, tmp_path)["SECRET_KEY"] == first
    assert config_from_env({"SECRET_KEY": "given"}, tmp_path)["SECRET_KEY"] == "given"


def test_https_public_url_makes_cookies_secure(tmp_path):
    config = config_from_env({"SERVICEDESK_PUBLIC_URL": "https://sd.example.com/"}, tmp_path)
    assert config["SERVICEDESK_PUBLIC_URL"] == "https://sd.example.com"
    assert config["SESSION_COOKIE_SECURE"] is True


def test_callback_settings_come_from_the_environment(tmp_path):
    config = config_from_env(
        {
            "SERVICEDESK_CALLING_HOURS": " 08:30 - 21:00 ",
            "SERVICEDESK_CALLBACK_DELAY_MINUTES": "90",
            "SERVICEDESK_CALLBACK_ATTEMPTS": "5",
            "SERVICEDESK_CALLBACK_RETRY_MINUTES": "30",
        },
        tmp_path,
    )
    assert config["SERVICEDESK_CALLING_HOURS"] == "08:30-21:00"
    assert config["SERVICEDESK_CALLBACK_DELAY_MINUTES"] == 90
    assert config["SERVICEDESK_CALLBACK_ATTEMPTS"] == 5
    assert config["SERVICEDESK_CALLBACK_RETRY_MINUTES"] == 30


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SERVICEDESK_CALLING_HOURS", "9 to 8"),
        ("SERVICEDESK_CALLING_HOURS", "20:00-09:00"),
        ("SERVICEDESK_CALLBACK_DELAY_MINUTES", "a day"),
        ("SERVICEDESK_CALLBACK_DELAY_MINUTES", "-5"),
        ("SERVICEDESK_CALLBACK_ATTEMPTS", "0"),
        ("SERVICEDESK_CALLBACK_RETRY_MINUTES", "2h"),
    ],
)
def test_a_bad_callback_setting_stops_the_start_naming_it(tmp_path, name, value):
    with pytest.raises(ValueError, match=name):
        config_from_env({name: value}, tmp_path)
