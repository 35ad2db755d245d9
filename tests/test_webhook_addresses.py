"""Webhooks reach public addresses only unless the operator allows more (SSRF): refused at registration for
literal private hosts, refused at connect time (a recorded failure) for names resolving to them, with a real
local HTTP receiver; allowed explicitly by WEBHOOK_ALLOW_PRIVATE or WEBHOOK_ALLOWED_NETWORKS."""

from __future__ import annotations

import ipaddress

import pytest

from api.config import ConfigError, settings_from_env
from models import db
from services.notifications.addresses import AddressPolicy, BlockedAddress, checked_address, parse_networks
from services.notifications.delivery import attempt
from tests.conftest import bearer, create_user
from tests.notification_servers import pending_delivery

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "::ffff:127.0.0.1",
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.1",
    "169.254.169.254",
    "fe80::1",
    "fc00::1",
    "224.0.0.1",
    "0.0.0.0",
    "100.64.0.1",
    "240.0.0.1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused_unless_allowed(address):
    problem = AddressPolicy().problem(address)
    assert problem is not None and "WEBHOOK_ALLOWED_NETWORKS" in problem
    assert AddressPolicy(allow_private=True).problem(address) is None
    checked = ipaddress.ip_address(problem.split(" ", 1)[0])  # an IPv4-mapped IPv6 address is its IPv4 one
    assert AddressPolicy(networks=parse_networks(str(checked))).problem(address) is None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "93.184.216.34"])
def test_public_addresses_are_allowed(address):
    assert AddressPolicy().problem(address) is None


def test_a_name_is_resolved_once_and_every_address_checked():
    with pytest.raises(BlockedAddress, match="loopback"):
        checked_address("localhost", 80, AddressPolicy())
    assert checked_address("localhost", 80, AddressPolicy(networks=parse_networks("127.0.0.0/8, ::1/128"))) in (
        "127.0.0.1",
        "::1",
    )
    with pytest.raises(BlockedAddress, match="does not resolve"):
        checked_address("no-such-host.invalid", 80, AddressPolicy())


def test_settings(tmp_path):
    settings = settings_from_env({"WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8, 192.168.5.7"}, tmp_path)
    assert settings["WEBHOOK_ALLOW_PRIVATE"] is False and settings["WEBHOOK_ALLOWED_NETWORKS"]
    assert settings_from_env({"WEBHOOK_ALLOW_PRIVATE": "1"}, tmp_path)["WEBHOOK_ALLOW_PRIVATE"] is True
    with pytest.raises(ConfigError, match="WEBHOOK_ALLOWED_NETWORKS"):
        settings_from_env({"WEBHOOK_ALLOWED_NETWORKS": "intranet"}, tmp_path)
    with pytest.raises(ConfigError, match="WEBHOOK_ALLOW_PRIVATE must be true or false"):
        settings_from_env({"WEBHOOK_ALLOW_PRIVATE": "ture"}, tmp_path)  # a typo is not a silent "off"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/in",
        "http://[::1]/in",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/in",
        "http://localhost/in",
        "http://[::ffff:192.168.0.1]/in",
    ],
)
def test_registering_a_literal_private_address_is_a_422(make_app, url):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=False)
    with app.app_context():
        headers = bearer(create_user("root", "admin"))
        response = app.test_client().post("/api/v1/webhooks", json={"url": url, "events": ["alert"]}, headers=headers)
        assert response.status_code == 422
        (detail,) = response.json["error"]["details"]
        assert detail["path"] == "url" and "WEBHOOK_ALLOWED_NETWORKS" in detail["reason"]
        allowed = make_app(WEBHOOK_ALLOW_PRIVATE=False, WEBHOOK_ALLOWED_NETWORKS="0.0.0.0/0, ::/0")
        if "localhost" not in url:
            with allowed.app_context():
                created = allowed.test_client().post(
                    "/api/v1/webhooks", json={"url": url, "events": ["alert"]}, headers=headers
                )
                assert created.status_code == 201, created.json


def test_a_name_resolving_to_loopback_is_refused_when_the_delivery_connects(make_app, receiver):
    server, base = receiver
    port = base.rsplit(":", 1)[1]
    app = make_app(WEBHOOK_ALLOW_PRIVATE=False, WEBHOOK_MAX_ATTEMPTS=1)
    with app.app_context():
        delivery = pending_delivery(f"http://localhost:{port}/hook")
        assert attempt(delivery.id) is None
        db.session.refresh(delivery)
        assert delivery.status == "failed" and delivery.response_status is None
        assert delivery.last_error.startswith("BlockedAddress: refused to connect to localhost")
        assert "loopback" in delivery.last_error
        assert server.at("/hook") == []  # nothing reached the receiver


@pytest.mark.parametrize("setting", [{"WEBHOOK_ALLOW_PRIVATE": True}, {"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}])
def test_an_allowed_private_receiver_gets_its_delivery(make_app, receiver, setting):
    server, base = receiver
    app = make_app(**{"WEBHOOK_ALLOW_PRIVATE": False, **setting})
    with app.app_context():
        delivery = pending_delivery(f"{base}/hook")
        assert attempt(delivery.id) is None
        db.session.refresh(delivery)
        assert (delivery.status, delivery.response_status, delivery.last_error) == ("delivered", 200, None)
        assert len(server.at("/hook")) == 1
