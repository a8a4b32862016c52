"""The ``servicedesk`` console script: Flask's CLI with the app factory built in."""

from flask.cli import FlaskGroup


def _create_app():
    from servicedesk import create_app

    return create_app()


cli = FlaskGroup(name="servicedesk", create_app=_create_app, help="servicedesk administration.")


def main() -> None:
    cli.main(prog_name="servicedesk")
