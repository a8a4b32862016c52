"""servicedesk: call-center and after-sales service ticketing."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, request, session
from flask_login import current_user

from servicedesk.config import PROJECT_ROOT, BaseConfig, config_from_env, instance_path_from_env
from servicedesk.extensions import babel, csrf, db, login_manager, migrate
from servicedesk.scheduler import start_in_process


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; ``config`` overrides what the environment says."""
    instance_path = instance_path_from_env()
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(BaseConfig)
    app.config.update(config_from_env(os.environ, instance_path))
    if config:
        app.config.update(config)

    _init_extensions(app)
    _register_models()
    _register_blueprints(app)
    _register_commands(app)
    start_in_process(app)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)


def _select_locale() -> str:
    languages = list(babel_languages())
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    if session.get("language") in languages:
        return session["language"]
    return request.accept_languages.best_match(languages) or "en"


def babel_languages() -> tuple[str, ...]:
    from flask import current_app

    return current_app.config["LANGUAGES"]


def _select_timezone() -> str:
    from flask import current_app

    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["SERVICEDESK_TIMEZONE"]


def _register_models() -> None:
    """Import every model module so that the metadata is complete (migrations, create_all)."""
    from servicedesk.auth import models as _auth  # noqa: F401
    from servicedesk.callcenter import models as _callcenter  # noqa: F401
    from servicedesk.customers import models as _customers  # noqa: F401
    from servicedesk.notifications import models as _notifications  # noqa: F401
    from servicedesk.sla import models as _sla  # noqa: F401
    from servicedesk.stations import models as _stations  # noqa: F401
    from servicedesk.tickets import models as _tickets  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from servicedesk.api import init_api
    from servicedesk.auth.views import bp as auth_bp
    from servicedesk.callcenter import inbound as _inbound  # noqa: F401
    from servicedesk.callcenter import survey_calls as _survey_calls  # noqa: F401
    from servicedesk.callcenter.callback_views import bp as callbacks_bp
    from servicedesk.callcenter.simulator import bp as simulator_bp
    from servicedesk.callcenter.views import bp as callcenter_bp
    from servicedesk.callcenter.webhooks import bp as twilio_bp
    from servicedesk.dispatch.views import bp as dispatch_bp
    from servicedesk.errors import init_errors
    from servicedesk.notifications.views import bp as notifications_bp
    from servicedesk.security_headers import init_security_headers
    from servicedesk.sla.views import bp as sla_bp
    from servicedesk.stations.views import bp as stations_bp
    from servicedesk.tickets.views import bp as tickets_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(callcenter_bp)
    app.register_blueprint(tickets_bp)
    app.register_blueprint(sla_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(dispatch_bp)
    app.register_blueprint(stations_bp)
    app.register_blueprint(simulator_bp)
    app.register_blueprint(callbacks_bp)
    # Signed webhooks, no CSRF token; the modules with its routes are imported above.
    csrf.exempt(twilio_bp)
    app.register_blueprint(twilio_bp)
    init_api(app)
    init_errors(app)
    init_security_headers(app)


def _register_commands(app: Flask) -> None:
    from servicedesk.auth.cli import users_cli
    from servicedesk.demo.cli import demo_cli
    from servicedesk.imports.cli import import_cli
    from servicedesk.scheduler import scheduler_command, sweep_command

    app.cli.add_command(users_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(sweep_command)
    app.cli.add_command(scheduler_command)
