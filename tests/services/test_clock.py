from datetime import UTC, datetime

from bot.links import public_url
from bot.services.clock import local_now, to_local


def test_local_time_follows_the_configured_zone():
    config = {"ORG_TIMEZONE": "Asia/Shanghai"}
    noon_utc = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    assert local_now(config, noon_utc) == datetime(2026, 12, 1, 12, 0)
    assert to_local(datetime(2026, 12, 1, 20, 30), config) == datetime(2026, 12, 2, 4, 30)
    assert local_now({"ORG_TIMEZONE": "Europe/London"}, noon_utc) == datetime(2026, 12, 1, 4, 0)
    assert to_local(None, config) is None


def test_public_links_are_built_from_the_url_map_on_the_public_base(app):
    app.config["PUBLIC_BASE_URL"] = "https://bot.example.org/"
    assert (
        public_url("pages.checkin_code", app, code="ab12") == "https://bot.example.org/checkin/ab12"
    )
    with app.app_context():
        assert public_url("pages.kb_entry", topic="legal.checkup").endswith("/kb/legal.checkup")
